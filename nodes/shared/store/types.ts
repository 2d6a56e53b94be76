import type { Readable } from 'node:stream';

/** Connection settings of an S3-compatible object store (AWS S3, MinIO, GCS interop, the embedded s3rver). */
export interface ObjectStoreConfig {
	/** Empty for AWS S3; a full URL for S3-compatible stores. */
	endpoint?: string;
	region: string;
	bucket: string;
	accessKeyId: string;
	secretAccessKey: string;
	forcePathStyle: boolean;
	/**
	 * `WHEN_REQUIRED` for stores that do not understand the SDK's default flexible checksums
	 * (s3rver stores aws-chunked framing verbatim otherwise; see DESIGN.md §3).
	 */
	checksumMode: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
}

export interface StoredObject {
	bucket: string;
	key: string;
	size: number;
	sha256: string;
	contentType: string;
	etag?: string;
}

export interface UploadOptions {
	contentType: string;
	metadata?: Record<string, string>;
	/** Multipart part size; memory use is about partSize × queueSize, whatever the object size. */
	partSizeBytes?: number;
	queueSize?: number;
	signal?: AbortSignal;
}

export interface ObjectHead {
	size: number;
	contentType?: string;
	etag?: string;
	metadata: Record<string, string>;
}

export interface ObjectStoreApi {
	readonly bucket: string;
	uploadStream(key: string, body: Readable, options: UploadOptions): Promise<StoredObject>;
	head(key: string): Promise<ObjectHead | undefined>;
	presignGet(key: string, expiresInSec: number): Promise<string>;
	getStream(key: string): Promise<Readable>;
	deleteObject(key: string): Promise<void>;
	ensureBucket(): Promise<void>;
}
