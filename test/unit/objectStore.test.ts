import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { InvalidIdError } from '../../nodes/shared/ids';
import {
	extensionForContentType,
	InvalidSourceError,
	ObjectStore,
	ObjectStoreError,
	recordingObjectKey,
} from '../../nodes/shared/store';
import type { RecordingSource } from '../../nodes/shared/recordingRef';
import { startS3Server, type S3TestServer } from '../support/s3';

const MIB = 1024 * 1024;

interface GeneratedStream {
	stream: Readable;
	/** SHA-256 of everything yielded so far, computed independently of the store. */
	digest(): string;
	bytesYielded(): number;
}

/** Random bytes produced chunk by chunk: the whole object never exists in memory. */
function generatedStream(
	totalBytes: number,
	options: { chunkBytes?: number; onProgress?: (yielded: number) => Promise<void> | void } = {},
): GeneratedStream {
	const chunkBytes = options.chunkBytes ?? 256 * 1024;
	const hash = createHash('sha256');
	let yielded = 0;
	async function* chunks(): AsyncGenerator<Buffer> {
		while (yielded < totalBytes) {
			const chunk = randomBytes(Math.min(chunkBytes, totalBytes - yielded));
			hash.update(chunk);
			yielded += chunk.length;
			yield chunk;
			await options.onProgress?.(yielded);
		}
	}
	let digest: string | undefined;
	return {
		stream: Readable.from(chunks(), { objectMode: false }),
		digest: () => (digest ??= hash.digest('hex')),
		bytesYielded: () => yielded,
	};
}

async function sha256OfWebBody(
	body: ReadableStream<Uint8Array>,
): Promise<{ hex: string; bytes: number }> {
	const hash = createHash('sha256');
	let bytes = 0;
	for await (const chunk of Readable.fromWeb(body as import('node:stream/web').ReadableStream)) {
		hash.update(chunk as Buffer);
		bytes += (chunk as Buffer).length;
	}
	return { hex: hash.digest('hex'), bytes };
}

async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
	return Buffer.concat(chunks);
}

let s3: S3TestServer;
let store: ObjectStore;
const extraClients: Array<{ client: S3Client } | S3Client> = [];

beforeAll(async () => {
	s3 = await startS3Server();
	store = new ObjectStore(s3.config);
});

afterAll(async () => {
	store?.client.destroy();
	for (const entry of extraClients) ('client' in entry ? entry.client : entry).destroy();
	await s3?.close();
});

describe('ObjectStore against s3rver', () => {
	it('streams a 50 MB upload and serves identical bytes through a presigned URL', async () => {
		const totalBytes = 50 * MIB + 12345; // not a multiple of the part size: the last part is short
		const source = generatedStream(totalBytes);
		const key = recordingObjectKey('genesys-cloud', 'conv-50mb', 'rec-1', 'original.webm');

		const stored = await store.uploadStream(key, source.stream, {
			contentType: 'video/webm',
			metadata: { 'conversation-id': 'conv-50mb' },
		});
		expect(stored).toMatchObject({
			bucket: s3.bucket,
			key,
			size: totalBytes,
			sha256: source.digest(),
			contentType: 'video/webm',
		});

		const head = await store.head(key);
		expect(head?.size).toBe(totalBytes);
		expect(head?.contentType).toBe('video/webm');
		expect(head?.metadata).toEqual({ 'conversation-id': 'conv-50mb' });
		expect(head?.etag).toBe(stored.etag);

		const url = await store.presignGet(key, 300);
		expect(url).toContain('X-Amz-Expires=300');
		const response = await fetch(url);
		expect(response.status).toBe(200);
		const downloaded = await sha256OfWebBody(response.body as ReadableStream<Uint8Array>);
		expect(downloaded).toEqual({ hex: source.digest(), bytes: totalBytes });
	}, 120000);

	it('uploads a small object with one PUT and reads it back as a stream', async () => {
		const key = recordingObjectKey('nice-cxone', 'conv-small', 'rec-2', 'poster.jpg');
		const body = Readable.from(['hello ', Buffer.from('poster '), 'bytes'], { objectMode: false });
		const stored = await store.uploadStream(key, body, { contentType: 'image/jpeg' });
		const expected = Buffer.from('hello poster bytes');
		expect(stored.size).toBe(expected.length);
		expect(stored.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
		expect(await readAll(await store.getStream(key))).toEqual(expected);

		await store.deleteObject(key);
		expect(await store.head(key)).toBeUndefined();
		await expect(store.deleteObject(key)).resolves.toBeUndefined();
	});

	it('uploads an empty stream', async () => {
		const key = 'recordings/genesys-cloud/conv-empty/rec-0/original.webm';
		const stored = await store.uploadStream(key, Readable.from([], { objectMode: false }), {
			contentType: 'video/webm',
		});
		expect(stored.size).toBe(0);
		expect(stored.sha256).toBe(createHash('sha256').digest('hex'));
		expect((await store.head(key))?.size).toBe(0);
	});

	it('a presigned URL stops working once its lifetime has passed', async () => {
		const key = 'recordings/genesys-cloud/conv-expiry/rec-1/original.webm';
		await store.uploadStream(key, Readable.from([Buffer.from('short-lived')]), {
			contentType: 'video/webm',
		});
		const url = await store.presignGet(key, 1);
		expect(url).toContain('X-Amz-Expires=1&');
		await sleep(2500);
		const response = await fetch(url);
		expect(response.status).toBe(403);
		await response.arrayBuffer();
		expect((await fetch(await store.presignGet(key, 60))).status).toBe(200);
	});

	it('clamps presigned lifetimes to 1 s … 7 days', async () => {
		const key = 'recordings/genesys-cloud/conv-x/rec-x/original.webm';
		expect(await store.presignGet(key, 10 * 24 * 3600)).toContain('X-Amz-Expires=604800');
		expect(await store.presignGet(key, 0)).toContain('X-Amz-Expires=1&');
		await expect(store.presignGet(key, Number.NaN)).rejects.toThrow(RangeError);
	});

	it('head of a missing key is undefined; get of a missing key names bucket, key and code', async () => {
		const key = 'recordings/genesys-cloud/conv-none/rec-none/original.webm';
		expect(await store.head(key)).toBeUndefined();
		const failure = await store.getStream(key).catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(ObjectStoreError);
		expect(failure).toMatchObject({ code: 'NoSuchKey', statusCode: 404, bucket: s3.bucket, key });
		expect((failure as Error).message).toContain(`s3://${s3.bucket}/${key}`);
		expect((failure as Error).message).toContain('NoSuchKey');
	});

	it('aborting mid-upload rejects, stops the source and leaves no object', async () => {
		const key = 'recordings/genesys-cloud/conv-abort/rec-1/original.webm';
		const controller = new AbortController();
		const source = generatedStream(60 * MIB, {
			chunkBytes: MIB,
			onProgress: async (yielded) => {
				// Abort once the multipart upload has begun and parts are in flight.
				if (yielded === 20 * MIB) controller.abort();
				if (yielded > 20 * MIB) await sleep(20);
			},
		});
		const failure = await store
			.uploadStream(key, source.stream, {
				contentType: 'video/webm',
				partSizeBytes: 5 * MIB,
				signal: controller.signal,
			})
			.catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(ObjectStoreError);
		expect(failure).toMatchObject({ code: 'Aborted', key });
		expect(source.bytesYielded()).toBeLessThan(60 * MIB);
		await sleep(200);
		expect(source.stream.destroyed).toBe(true);
		expect(await store.head(key)).toBeUndefined();
	}, 60000);

	it('an already aborted signal uploads nothing', async () => {
		const key = 'recordings/genesys-cloud/conv-abort/rec-2/original.webm';
		const source = generatedStream(MIB);
		await expect(
			store.uploadStream(key, source.stream, {
				contentType: 'video/webm',
				signal: AbortSignal.abort(),
			}),
		).rejects.toMatchObject({ code: 'Aborted' });
		expect(await store.head(key)).toBeUndefined();
	});

	it('a failing source stream rejects the upload and leaves no object', async () => {
		const key = 'recordings/genesys-cloud/conv-broken/rec-1/original.webm';
		async function* failing(): AsyncGenerator<Buffer> {
			yield randomBytes(6 * MIB);
			throw new Error('platform closed the media download');
		}
		const failure = await store
			.uploadStream(key, Readable.from(failing(), { objectMode: false }), {
				contentType: 'video/webm',
				partSizeBytes: 5 * MIB,
			})
			.catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(ObjectStoreError);
		expect((failure as ObjectStoreError).message).toContain('platform closed the media download');
		expect(await store.head(key)).toBeUndefined();
	});

	it('refuses part sizes S3 would reject', async () => {
		await expect(
			store.uploadStream('recordings/x', Readable.from([]), {
				contentType: 'video/webm',
				partSizeBytes: MIB,
			}),
		).rejects.toThrow(RangeError);
	});

	it('refuses object keys that escape their prefix', async () => {
		for (const key of ['', '/abs', 'recordings/../secrets', 'a/./b']) {
			await expect(store.head(key)).rejects.toThrow(RangeError);
		}
	});

	it('creates a missing bucket and tolerates one that exists', async () => {
		const fresh = new ObjectStore({ ...s3.config, bucket: 'fresh-bucket' });
		extraClients.push(fresh);
		await fresh.ensureBucket();
		await fresh.ensureBucket();
		await store.ensureBucket();
		const stored = await fresh.uploadStream(
			'recordings/probe.txt',
			Readable.from([Buffer.from('x')]),
			{
				contentType: 'text/plain',
			},
		);
		expect(stored.size).toBe(1);
	});

	it('maps an unknown access key to ObjectStoreError naming bucket, key and code', async () => {
		const wrongKeyId = new ObjectStore({ ...s3.config, accessKeyId: 'UNKNOWNKEYID42' });
		extraClients.push(wrongKeyId);
		const key = 'recordings/genesys-cloud/conv-auth/rec-1/original.webm';
		const failure = await wrongKeyId
			.uploadStream(key, Readable.from([Buffer.from('x')]), { contentType: 'video/webm' })
			.catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(ObjectStoreError);
		expect(failure).toMatchObject({ code: 'InvalidAccessKeyId', statusCode: 403, key });
		expect((failure as Error).message).toContain(`s3://${s3.bucket}/${key}`);
		expect((failure as Error).message).not.toContain('UNKNOWNKEYID42');
	});

	it('never puts the secret key into an error message, even when the store echoes it', async () => {
		// s3rver does not verify SigV4 header signatures, so the echo is simulated at the client.
		const secretAccessKey = 'wrong-secret-value-123';
		const echoing = new ObjectStore({ ...s3.config, secretAccessKey });
		extraClients.push(echoing);
		const sdkError = Object.assign(
			new Error(`The request signature we calculated does not match (secret ${secretAccessKey})`),
			{ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403, requestId: 'req-1' } },
		);
		(echoing.client as unknown as { send: () => Promise<never> }).send = async () => {
			throw sdkError;
		};
		const failure = (await echoing
			.getStream('recordings/a/b')
			.catch((error: unknown) => error)) as ObjectStoreError;
		expect(failure).toBeInstanceOf(ObjectStoreError);
		expect(failure).toMatchObject({
			code: 'SignatureDoesNotMatch',
			statusCode: 403,
			requestId: 'req-1',
		});
		expect(failure.message).toContain('the secret access key does not match');
		expect(failure.message).not.toContain(secretAccessKey);
		expect(JSON.stringify({ ...failure, message: failure.message })).not.toContain(secretAccessKey);
		expect(failure.cause).toBeUndefined();
	});

	it('sets the SDK checksum mode from the config', async () => {
		expect(await store.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
		expect(await store.client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
		const supported = new ObjectStore({ ...s3.config, checksumMode: 'WHEN_SUPPORTED' });
		extraClients.push(supported);
		expect(await supported.client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
	});

	it('with WHEN_SUPPORTED checksums s3rver stores a streamed PUT body corrupted', async () => {
		const payload = Buffer.from('0123456789');
		async function putStreamed(checksumMode: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED'): Promise<Buffer> {
			const client = new S3Client({
				endpoint: s3.endpoint,
				region: 'us-east-1',
				forcePathStyle: true,
				credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
				requestChecksumCalculation: checksumMode,
				responseChecksumValidation: checksumMode,
			});
			extraClients.push(client);
			const key = `checksum-mode/${checksumMode}`;
			await client.send(
				new PutObjectCommand({
					Bucket: s3.bucket,
					Key: key,
					Body: Readable.from([payload]),
					ContentLength: payload.length,
				}),
			);
			const result = await store.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
			return Buffer.from(await result.Body!.transformToByteArray());
		}
		expect(await putStreamed('WHEN_REQUIRED')).toEqual(payload);
		const corrupted = await putStreamed('WHEN_SUPPORTED');
		expect(corrupted).not.toEqual(payload);
		expect(corrupted.toString()).toContain('x-amz-checksum-crc32');
	});
});

describe('recording object keys', () => {
	it('builds recordings/<source>/<conversationId>/<recordingId>/<fileName>', () => {
		expect(recordingObjectKey('genesys-cloud', 'c-1', 'r_2.a', 'original.webm')).toBe(
			'recordings/genesys-cloud/c-1/r_2.a/original.webm',
		);
	});

	it.each([
		['conversationId', 0],
		['recordingId', 1],
		['fileName', 2],
	])('refuses unsafe %s values and names the field', (field, position) => {
		for (const unsafe of ['../x', 'a/b', '..', '', 'x'.repeat(200)]) {
			const args = ['conv-1', 'rec-1', 'original.webm'];
			args[position] = unsafe;
			const build = (): string => recordingObjectKey('genesys-cloud', args[0], args[1], args[2]);
			expect(build).toThrow(InvalidIdError);
			expect(build).toThrow(new RegExp(`^${field} must be`));
		}
	});

	it('refuses an unknown source', () => {
		const build = (): string =>
			recordingObjectKey('../etc' as RecordingSource, 'conv-1', 'rec-1', 'original.webm');
		expect(build).toThrow(InvalidSourceError);
		expect(build).toThrow(/^source must be one of genesys-cloud/);
	});

	it('maps content types to file extensions', () => {
		expect(extensionForContentType('video/webm')).toBe('webm');
		expect(extensionForContentType('video/webm; codecs="vp9,opus"')).toBe('webm');
		expect(extensionForContentType('video/mp4')).toBe('mp4');
		expect(extensionForContentType('Audio/MPEG')).toBe('mp3');
		expect(extensionForContentType('audio/wav')).toBe('wav');
		expect(extensionForContentType('audio/ogg')).toBe('ogg');
		expect(extensionForContentType('audio/mp4')).toBe('m4a');
		expect(extensionForContentType('application/x-unknown')).toBe('bin');
	});
});
