import { createHash } from 'node:crypto';

import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';

import { isSafeId } from '../../ids';
import { stateKeyOf, type RecordingRef } from '../../recordingRef';
import type { StateStore } from '../../state/types';
import { recordingObjectKey } from '../../store/keys';
import type { ObjectStore } from '../../store/objectStore';
import type { ObjectStoreApi } from '../../store/types';
import { reuseStaged, saveStaged } from '../common';

/**
 * Screen and call recordings that CXone "Custom storage" writes into the customer's own S3 bucket (Cloud Storage
 * Services; a tenant-level setting). The object layout inside the bucket is not documented in the sources used, so
 * contact and recording ids are read from the key with an operator-editable pattern.
 */
export const DEFAULT_KEY_PATTERN = '(?:^|/)(?<contactId>[A-Za-z0-9.-]+)_(?<recordingId>[A-Za-z0-9.-]+)\\.[A-Za-z0-9]+$';

const MEDIA_TYPES: Record<string, string> = {
	mp4: 'video/mp4',
	m4v: 'video/mp4',
	webm: 'video/webm',
	mkv: 'video/x-matroska',
	mov: 'video/quicktime',
	wav: 'audio/wav',
	mp3: 'audio/mpeg',
	ogg: 'audio/ogg',
	opus: 'audio/opus',
};

export const DEFAULT_EXTENSIONS = ['mp4', 'webm', 'mkv', 'mov', 'wav', 'mp3'];

/** Objects strictly after (lastModified, key) are new; S3 lists in key order, so the whole prefix is read. */
export interface BucketCursor {
	lastModified?: string;
	key?: string;
}

export interface ListedObject {
	key: string;
	lastModified: string;
	size: number;
	etag?: string;
}

export function isAfterCursor(object: Pick<ListedObject, 'key' | 'lastModified'>, cursor: BucketCursor): boolean {
	if (!cursor.lastModified) return true;
	if (object.lastModified !== cursor.lastModified) return object.lastModified > cursor.lastModified;
	return object.key > (cursor.key ?? '');
}

function compareObjects(a: ListedObject, b: ListedObject): number {
	return a.lastModified === b.lastModified ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.lastModified < b.lastModified ? -1 : 1;
}

/** The oldest `maxObjects` media objects under `prefix` after the cursor (memory bounded by maxObjects). */
export async function listNewObjects(
	customer: ObjectStore,
	prefix: string,
	cursor: BucketCursor,
	options: { maxObjects: number; extensions?: string[]; signal?: AbortSignal },
): Promise<{ objects: ListedObject[]; more: boolean }> {
	const extensions = new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((ext) => ext.toLowerCase().replace(/^\./, '')));
	let candidates: ListedObject[] = [];
	let more = false;
	let token: string | undefined;
	do {
		const page: ListObjectsV2CommandOutput = await customer.client.send(
			new ListObjectsV2Command({ Bucket: customer.bucket, Prefix: prefix || undefined, ContinuationToken: token, MaxKeys: 1000 }),
			{ abortSignal: options.signal },
		);
		for (const entry of page.Contents ?? []) {
			if (!entry.Key || !entry.LastModified || entry.Key.endsWith('/')) continue;
			const ext = entry.Key.slice(entry.Key.lastIndexOf('.') + 1).toLowerCase();
			if (!extensions.has(ext)) continue;
			const object = { key: entry.Key, lastModified: entry.LastModified.toISOString(), size: Number(entry.Size ?? 0), etag: entry.ETag };
			if (isAfterCursor(object, cursor)) candidates.push(object);
		}
		if (candidates.length > options.maxObjects * 2) {
			candidates.sort(compareObjects);
			more = true;
			candidates = candidates.slice(0, options.maxObjects);
		}
		token = page.IsTruncated ? page.NextContinuationToken : undefined;
	} while (token);
	candidates.sort(compareObjects);
	if (candidates.length > options.maxObjects) more = true;
	return { objects: candidates.slice(0, options.maxObjects), more };
}

export interface PickupDeps {
	customer: ObjectStore;
	/** The staging store; when it is the customer's bucket itself nothing is copied. */
	store: ObjectStoreApi;
	sameStore: boolean;
	state: StateStore;
}

export interface PickupSkip {
	key: string;
	outcome: 'unmatched';
	reason: string;
}

export interface PickupResult {
	refs: Array<RecordingRef & { pickup: { sourceKey: string; reused: boolean; copied: boolean } }>;
	skipped: PickupSkip[];
	cursor: BucketCursor;
	more: boolean;
}

/**
 * Emits a RecordingRef per new object: in the same store the ref points at the customer's object (its SHA-256 read
 * by streaming it once); otherwise the object is copied by streaming into the staging key.
 */
export async function pickUpRecordings(
	deps: PickupDeps,
	request: { prefix: string; cursor: BucketCursor; keyPattern?: string; maxObjects?: number; extensions?: string[] },
	options: { partSizeBytes?: number; signal?: AbortSignal } = {},
): Promise<PickupResult> {
	const pattern = new RegExp(request.keyPattern || DEFAULT_KEY_PATTERN);
	const listed = await listNewObjects(deps.customer, request.prefix, request.cursor, {
		maxObjects: request.maxObjects ?? 50,
		extensions: request.extensions,
		signal: options.signal,
	});
	const result: PickupResult = { refs: [], skipped: [], cursor: { ...request.cursor }, more: listed.more };
	for (const object of listed.objects) {
		const ids = idsFromKey(object.key, pattern);
		if (!ids) {
			result.skipped.push({ key: object.key, outcome: 'unmatched', reason: 'The key does not match the pattern, or its ids hold characters other than A-Z, a-z, 0-9, ., _ and -' });
		} else {
			result.refs.push(await pickUpOne(deps, object, ids, options));
		}
		// Each object moves the cursor as soon as it is handled: a failure later in the batch keeps the work done.
		result.cursor = { lastModified: object.lastModified, key: object.key };
	}
	return result;
}

export function idsFromKey(key: string, pattern: RegExp): { contactId: string; recordingId: string } | undefined {
	const groups = pattern.exec(key)?.groups;
	const contactId = groups?.contactId;
	const recordingId = groups?.recordingId ?? contactId;
	return isSafeId(contactId) && isSafeId(recordingId) ? { contactId, recordingId } : undefined;
}

async function pickUpOne(
	deps: PickupDeps,
	object: ListedObject,
	ids: { contactId: string; recordingId: string },
	options: { partSizeBytes?: number; signal?: AbortSignal },
): Promise<PickupResult['refs'][number]> {
	const source = 'nice-cxone' as const;
	const { contactId, recordingId } = ids;
	const stateKey = stateKeyOf(source, contactId, recordingId);
	const ext = object.key.slice(object.key.lastIndexOf('.') + 1).toLowerCase();
	const contentType = MEDIA_TYPES[ext] ?? 'application/octet-stream';
	const baseRef: RecordingRef = {
		source,
		conversationId: contactId,
		recordingId,
		// The bucket carries no agent; the evaluation (by acdId) or a later lookup names them.
		agent: { id: '' },
		mediaType: contentType.startsWith('video/') ? 'screen' : 'audio',
		startTime: object.lastModified,
		stateKey,
	};
	const staged = await reuseStaged(deps, baseRef);
	if (staged) return { ...staged, pickup: { sourceKey: object.key, reused: true, copied: false } };
	let pointer: NonNullable<RecordingRef['object']>;
	if (deps.sameStore) {
		const hash = createHash('sha256');
		let size = 0;
		for await (const chunk of await deps.customer.getStream(object.key)) {
			hash.update(chunk as Buffer);
			size += (chunk as Buffer).length;
		}
		pointer = { bucket: deps.customer.bucket, key: object.key, size, sha256: hash.digest('hex'), contentType };
	} else {
		const key = recordingObjectKey(source, contactId, recordingId, `original.${ext}`);
		const stored = await deps.store.uploadStream(key, await deps.customer.getStream(object.key), {
			contentType,
			metadata: { 'conversation-id': contactId, 'recording-id': recordingId, source, 'source-key': object.key.slice(0, 1024) },
			partSizeBytes: options.partSizeBytes,
			signal: options.signal,
		});
		pointer = { bucket: stored.bucket, key: stored.key, size: stored.size, sha256: stored.sha256, contentType: stored.contentType };
	}
	const ref: RecordingRef = { ...baseRef, object: pointer };
	await saveStaged(deps.state, stateKey, ref);
	return { ...ref, pickup: { sourceKey: object.key, reused: false, copied: !deps.sameStore } };
}
