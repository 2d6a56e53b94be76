import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * An EBML header with DocType "webm" followed by a Segment of unknown size, so content sniffers
 * (and `file`) see a WebM file. Everything after it is pseudo-random and not decodable.
 */
export const WEBM_PREFIX: Buffer = Buffer.from([
	// EBML, 31-byte body: EBMLVersion 1, EBMLReadVersion 1, MaxIDLength 4, MaxSizeLength 8,
	// DocType "webm", DocTypeVersion 4, DocTypeReadVersion 2
	0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0xf2, 0x81,
	0x04, 0x42, 0xf3, 0x81, 0x08, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d, 0x42, 0x87, 0x81, 0x04,
	0x42, 0x85, 0x81, 0x02,
	// Segment with "unknown" size, as live WebM writers emit it
	0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
]);

const DEFAULT_CHUNK = 64 * 1024;

export interface SyntheticMediaOptions {
	/** Different seeds give different bodies of the same size. */
	seed?: string;
	/** First byte to produce (inclusive). */
	start?: number;
	/** Last byte to produce (inclusive); defaults to the end of the body. */
	end?: number;
	chunkSize?: number;
}

function keystreamKey(seed: string): Buffer {
	return createHash('sha256')
		.update(`cx-training-synthetic-media:${seed}`)
		.digest()
		.subarray(0, 16);
}

/**
 * Deterministic body of `sizeBytes`: WEBM_PREFIX, then an AES-128-CTR keystream. CTR mode makes any
 * byte range computable without generating what precedes it, so Range requests stay cheap, and the
 * stream is produced chunk by chunk on demand (backpressure), never allocated whole.
 */
export function syntheticMediaStream(
	sizeBytes: number,
	options: SyntheticMediaOptions = {},
): Readable {
	const start = options.start ?? 0;
	const endExclusive = Math.min(sizeBytes, (options.end ?? sizeBytes - 1) + 1);
	const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
	const iv = Buffer.alloc(16);
	iv.writeBigUInt64BE(BigInt(Math.floor(start / 16)), 8);
	const cipher = createCipheriv('aes-128-ctr', keystreamKey(options.seed ?? ''), iv);
	const skip = start % 16;
	if (skip > 0) cipher.update(Buffer.alloc(skip));
	const zeros = Buffer.alloc(chunkSize);
	let position = start;
	return new Readable({
		highWaterMark: chunkSize,
		read() {
			if (position >= endExclusive) {
				this.push(null);
				return;
			}
			const length = Math.min(chunkSize, endExclusive - position);
			const chunk = cipher.update(zeros.subarray(0, length));
			if (position < WEBM_PREFIX.length) {
				WEBM_PREFIX.copy(chunk, 0, position, Math.min(WEBM_PREFIX.length, position + length));
			}
			position += length;
			this.push(chunk);
		},
	});
}

/** SHA-256 (hex) of the body `syntheticMediaStream(sizeBytes, { seed })` produces. */
export async function syntheticSha256(sizeBytes: number, seed = ''): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of syntheticMediaStream(sizeBytes, { seed, chunkSize: 1024 * 1024 })) {
		hash.update(chunk as Buffer);
	}
	return hash.digest('hex');
}

/** Stable ETag for a synthetic body without hashing it (S3 ETags are opaque to clients). */
export function syntheticEtag(sizeBytes: number, seed = ''): string {
	return `"${createHash('md5').update(`${seed}:${sizeBytes}`).digest('hex')}"`;
}
