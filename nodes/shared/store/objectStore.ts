import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

import {
	CreateBucketCommand,
	DeleteObjectCommand,
	GetObjectCommand,
	HeadBucketCommand,
	HeadObjectCommand,
	S3Client,
	type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import type {
	ObjectHead,
	ObjectStoreApi,
	ObjectStoreConfig,
	StoredObject,
	UploadOptions,
} from './types';

const MIB = 1024 * 1024;
/** S3's smallest multipart part (except the last). */
export const MIN_PART_SIZE_BYTES = 5 * MIB;
/** 8 MiB × 10,000 parts (the S3 maximum) allows objects up to about 78 GiB. */
export const DEFAULT_PART_SIZE_BYTES = 8 * MIB;
export const DEFAULT_QUEUE_SIZE = 2;
/** SigV4 presigned URLs live at most seven days. */
export const MAX_PRESIGN_SECONDS = 604800;

export interface ObjectStoreErrorDetails {
	operation: string;
	bucket: string;
	key?: string;
	/** S3 error code (`NoSuchKey`, `AccessDenied`, …) or a local one (`Aborted`, `SizeMismatch`, `BodyStreamFailed`). */
	code: string;
	statusCode?: number;
	requestId?: string;
}

/** Object-store failure naming the bucket, key and S3 error code; it never carries credentials. */
export class ObjectStoreError extends Error {
	readonly operation: string;
	readonly bucket: string;
	readonly key?: string;
	readonly code: string;
	readonly statusCode?: number;
	readonly requestId?: string;

	constructor(message: string, details: ObjectStoreErrorDetails) {
		super(message);
		this.name = 'ObjectStoreError';
		this.operation = details.operation;
		this.bucket = details.bucket;
		this.key = details.key;
		this.code = details.code;
		this.statusCode = details.statusCode;
		this.requestId = details.requestId;
	}
}

interface SdkErrorShape {
	name?: string;
	code?: string;
	Code?: string;
	message?: string;
	$metadata?: { httpStatusCode?: number; requestId?: string };
}

const HINTS: Record<string, string> = {
	AccessDenied: 'the credentials lack permission for this bucket or key',
	InvalidAccessKeyId: 'the access key id is not known to the store',
	SignatureDoesNotMatch: 'the secret access key does not match the access key id',
	NoSuchBucket: 'the bucket does not exist',
	NoSuchKey: 'the object does not exist',
	ECONNREFUSED: 'the endpoint refused the connection; check the endpoint URL',
	ENOTFOUND: 'the endpoint host name does not resolve',
};

/** Passes bytes through unchanged while hashing and counting them, so nothing is buffered for the digest. */
class DigestStream extends Transform {
	private readonly hash: Hash = createHash('sha256');
	bytes = 0;

	_transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
		const buffer = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
		this.hash.update(buffer);
		this.bytes += buffer.length;
		callback(null, buffer);
	}

	hex(): string {
		return this.hash.digest('hex');
	}
}

/** Object store on the S3 API (AWS S3, MinIO, GCS interop, s3rver): streams in, presigned URLs out. */
export class ObjectStore implements ObjectStoreApi {
	readonly bucket: string;
	readonly client: S3Client;
	private readonly region: string;
	private readonly secrets: string[];

	constructor(config: ObjectStoreConfig) {
		if (!config.bucket) throw new Error('The object store needs a bucket name');
		this.bucket = config.bucket;
		this.region = config.region || 'us-east-1';
		// Error messages are scrubbed of both values, even though S3 only ever echoes the key id.
		this.secrets = [config.accessKeyId, config.secretAccessKey].filter(
			(value): value is string => typeof value === 'string' && value.length >= 4,
		);
		this.client = new S3Client({
			endpoint: config.endpoint || undefined,
			region: this.region,
			forcePathStyle: config.forcePathStyle,
			// Without an explicit key pair the SDK's default chain (environment, instance role) applies.
			credentials: config.accessKeyId
				? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
				: undefined,
			// Many S3-compatible stores (s3rver among them) store the SDK's aws-chunked framing as the object body
			// when flexible checksums are on; WHEN_REQUIRED sends plain bodies (DESIGN.md §3).
			requestChecksumCalculation: config.checksumMode,
			responseChecksumValidation: config.checksumMode,
		});
	}

	/**
	 * Streams `body` into `key` by multipart upload: memory stays near partSize × queueSize whatever the object
	 * size. SHA-256 and length are computed on the way through and checked against what the store kept.
	 */
	async uploadStream(key: string, body: Readable, options: UploadOptions): Promise<StoredObject> {
		const operation = 'upload';
		assertObjectKey(key);
		const partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
		const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
		if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE_BYTES) {
			throw new RangeError(
				`partSizeBytes must be an integer of at least ${MIN_PART_SIZE_BYTES} (5 MiB)`,
			);
		}
		if (!Number.isInteger(queueSize) || queueSize < 1) {
			throw new RangeError('queueSize must be a positive integer');
		}
		const { signal } = options;
		if (signal?.aborted) {
			body.destroy();
			throw this.abortedError(operation, key);
		}

		const digest = new DigestStream();
		let bodyError: Error | undefined;
		const noteBodyError = (error: Error | null | undefined): void => {
			if (error && !bodyError) bodyError = error;
		};
		// The listener records a source failure synchronously, before the upload's rejection reaches us.
		body.once('error', noteBodyError);
		// pipeline destroys the source when the upload stops reading, and forwards a source failure to the upload.
		pipeline(body, digest, noteBodyError);

		const upload = new Upload({
			client: this.client,
			params: {
				Bucket: this.bucket,
				Key: key,
				Body: digest,
				ContentType: options.contentType,
				Metadata: options.metadata,
			},
			partSize,
			queueSize,
			// Abandoned parts are billed until deleted, so a failed upload aborts its multipart upload.
			leavePartsOnError: false,
		});
		const onAbort = (): void => {
			void upload.abort();
		};
		signal?.addEventListener('abort', onAbort, { once: true });

		try {
			await upload.done();
		} catch (error) {
			// Stop reading the source; the upload has given up on it.
			digest.destroy();
			if (signal?.aborted) throw this.abortedError(operation, key);
			if (bodyError && !isPrematureClose(bodyError)) {
				throw new ObjectStoreError(
					`Upload to s3://${this.bucket}/${key} failed because the source stream failed: ${this.scrub(
						bodyError.message,
					)}`,
					{ operation, bucket: this.bucket, key, code: 'BodyStreamFailed' },
				);
			}
			throw this.mapError(error, operation, key);
		} finally {
			signal?.removeEventListener('abort', onAbort);
		}

		const size = digest.bytes;
		const sha256 = digest.hex();
		// The digest is only known once the last part is sent. It travels in the RecordingRef and the state store;
		// stamping it on the object would need a server-side copy of the whole recording, so it is not done.
		// A store that kept different bytes than were sent (aws-chunked framing saved verbatim) fails here, not later.
		let head = await this.head(key);
		// Some S3-compatible stores (s3rver) answer the PUT before the object is readable: look again briefly.
		for (let attempt = 1; attempt <= 5 && (!head || head.size !== size); attempt++) {
			await delay(50 * attempt);
			head = await this.head(key);
		}
		if (!head || head.size !== size) {
			throw new ObjectStoreError(
				`Upload to s3://${this.bucket}/${key} stored ${head ? head.size : 'no'} bytes but ${size} were sent; ` +
					'if the store is S3-compatible rather than AWS, set the checksum mode to WHEN_REQUIRED',
				{ operation, bucket: this.bucket, key, code: 'SizeMismatch' },
			);
		}

		return {
			bucket: this.bucket,
			key,
			size,
			sha256,
			contentType: options.contentType,
			etag: head.etag,
		};
	}

	async head(key: string): Promise<ObjectHead | undefined> {
		assertObjectKey(key);
		try {
			const result = await this.client.send(
				new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
			);
			return {
				size: Number(result.ContentLength ?? 0),
				contentType: result.ContentType,
				etag: result.ETag,
				metadata: { ...(result.Metadata ?? {}) },
			};
		} catch (error) {
			if (isNotFound(error)) return undefined;
			throw this.mapError(error, 'head', key);
		}
	}

	/** GET URL valid for `expiresInSec`, clamped to 1 s … 7 days (the SigV4 limit). */
	async presignGet(key: string, expiresInSec: number): Promise<string> {
		assertObjectKey(key);
		if (Number.isNaN(expiresInSec))
			throw new RangeError('expiresInSec must be a number of seconds');
		const expiresIn = Math.min(MAX_PRESIGN_SECONDS, Math.max(1, Math.floor(expiresInSec)));
		try {
			return await getSignedUrl(
				this.client,
				new GetObjectCommand({ Bucket: this.bucket, Key: key }),
				{ expiresIn },
			);
		} catch (error) {
			throw this.mapError(error, 'presign', key);
		}
	}

	async getStream(key: string): Promise<Readable> {
		assertObjectKey(key);
		try {
			const result = await this.client.send(
				new GetObjectCommand({ Bucket: this.bucket, Key: key }),
			);
			if (!result.Body) {
				throw new ObjectStoreError(`Download of s3://${this.bucket}/${key} returned no body`, {
					operation: 'get',
					bucket: this.bucket,
					key,
					code: 'EmptyBody',
				});
			}
			// In Node.js the SDK's body is an http.IncomingMessage, a Readable.
			return result.Body as Readable;
		} catch (error) {
			throw this.mapError(error, 'get', key);
		}
	}

	async deleteObject(key: string): Promise<void> {
		assertObjectKey(key);
		try {
			await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
		} catch (error) {
			throw this.mapError(error, 'delete', key);
		}
	}

	/** Proves the credentials can reach the bucket (HeadBucket); used by the credential test. */
	async checkAccess(): Promise<void> {
		try {
			await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
		} catch (error) {
			throw this.mapError(error, 'head bucket');
		}
	}

	/** Creates the bucket when it does not exist; a bucket created meanwhile by another worker is fine. */
	async ensureBucket(): Promise<void> {
		try {
			await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
			return;
		} catch (error) {
			if (!isNotFound(error)) throw this.mapError(error, 'head bucket');
		}
		try {
			await this.client.send(
				new CreateBucketCommand({
					Bucket: this.bucket,
					// us-east-1 is the one region that rejects an explicit location constraint.
					CreateBucketConfiguration:
						this.region === 'us-east-1'
							? undefined
							: { LocationConstraint: this.region as BucketLocationConstraint },
				}),
			);
		} catch (error) {
			const code = errorCode(error);
			if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return;
			throw this.mapError(error, 'create bucket');
		}
	}

	private abortedError(operation: string, key: string): ObjectStoreError {
		return new ObjectStoreError(`Upload to s3://${this.bucket}/${key} was aborted`, {
			operation,
			bucket: this.bucket,
			key,
			code: 'Aborted',
		});
	}

	private mapError(error: unknown, operation: string, key?: string): ObjectStoreError {
		if (error instanceof ObjectStoreError) return error;
		const sdk = (error ?? {}) as SdkErrorShape;
		const code = errorCode(error);
		const statusCode = sdk.$metadata?.httpStatusCode;
		const target = key === undefined ? `s3://${this.bucket}` : `s3://${this.bucket}/${key}`;
		const parts = [`Object store ${operation} of ${target} failed: ${code}`];
		if (statusCode) parts.push(` (HTTP ${statusCode})`);
		const detail = typeof sdk.message === 'string' ? this.scrub(sdk.message).trim() : '';
		if (detail && detail !== code && detail !== 'UnknownError') parts.push(`: ${detail}`);
		const hint = HINTS[code];
		if (hint) parts.push(` (${hint})`);
		return new ObjectStoreError(parts.join(''), {
			operation,
			bucket: this.bucket,
			key,
			code,
			statusCode,
			requestId: sdk.$metadata?.requestId,
		});
	}

	/** Removes the configured key pair and any presigned-URL signature from text bound for an error message. */
	private scrub(text: string): string {
		let scrubbed = text;
		for (const secret of this.secrets) scrubbed = scrubbed.split(secret).join('[redacted]');
		return scrubbed.replace(
			/(X-Amz-(?:Credential|Signature|Security-Token)=)[^&\s]+/gi,
			'$1[redacted]',
		);
	}
}

function errorCode(error: unknown): string {
	const sdk = (error ?? {}) as SdkErrorShape;
	return String(sdk.Code ?? sdk.code ?? sdk.name ?? 'UnknownError');
}

function isNotFound(error: unknown): boolean {
	const code = errorCode(error);
	return (
		code === 'NotFound' ||
		code === 'NoSuchKey' ||
		code === 'NoSuchBucket' ||
		(error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode === 404
	);
}

function isPrematureClose(error: Error): boolean {
	return (error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Keys are built by keys.ts; this only refuses shapes no caller should send (empty, absolute, traversal). */
function assertObjectKey(key: string): void {
	if (
		typeof key !== 'string' ||
		key.length === 0 ||
		Buffer.byteLength(key) > 1024 ||
		key.startsWith('/') ||
		key.split('/').some((segment) => segment === '.' || segment === '..') ||
		// eslint-disable-next-line no-control-regex
		/[\u0000-\u001f\u007f]/.test(key)
	) {
		throw new RangeError(
			`Object key must be 1-1024 bytes without control characters, a leading '/' or '.'/'..' segments`,
		);
	}
}
