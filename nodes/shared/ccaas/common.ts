import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

import type { RecordingRef } from '../recordingRef';
import type { StateStore } from '../state/types';
import { extensionForContentType, recordingObjectKey } from '../store/keys';
import type { ObjectStoreApi } from '../store/types';
import { HttpError } from '../transport/errors';
import type { HttpClient } from '../transport/http';

/**
 * What the contact-centre clients share: the per-process token cache, the https and host allow-list checks on
 * signed URLs, the download of a signed URL with Range resume, and staging such a download into the object store.
 */

/** Makes the error a vendor throws, so its callers can tell refused URLs from transport failures. */
export type ErrorFactory = (message: string) => Error;
const plainError: ErrorFactory = (message) => new Error(message);

/** Refresh this long before a token's `expires_in` runs out, so it never expires mid-request. */
const TOKEN_SAFETY_MARGIN_MS = 60_000;

/** Access tokens (with whatever the vendor returns alongside) per credential, shared by every execution in this process; concurrent refreshes share one request. */
export class TokenCache<T extends { expiresAt: number }> {
	private readonly values = new Map<string, T>();
	private readonly pending = new Map<string, Promise<T>>();

	async get(key: string, fetch: () => Promise<T>, forceRefresh = false): Promise<T> {
		const cached = this.values.get(key);
		if (!forceRefresh && cached && cached.expiresAt - TOKEN_SAFETY_MARGIN_MS > Date.now()) return cached;
		let pending = this.pending.get(key);
		if (!pending) {
			pending = fetch()
				.then((value) => {
					this.values.set(key, value);
					return value;
				})
				.finally(() => this.pending.delete(key));
			this.pending.set(key, pending);
		}
		return await pending;
	}

	/** Runs `call` with the cached value; a 401 (the token may have been revoked) forgets it and runs once more with a fresh one. */
	async withValue<R>(key: string, fetch: () => Promise<T>, call: (value: T) => Promise<R>): Promise<R> {
		for (let attempt = 1; ; attempt++) {
			const value = await this.get(key, fetch, attempt > 1);
			try {
				return await call(value);
			} catch (error) {
				if (error instanceof HttpError && error.status === 401 && attempt === 1) {
					this.values.delete(key);
					continue;
				}
				throw error;
			}
		}
	}

	clear(): void {
		this.values.clear();
	}
}

export function assertAllowedScheme(url: string, allowInsecureHttp: boolean | undefined, error: ErrorFactory = plainError): void {
	const protocol = new URL(url).protocol;
	if (protocol === 'https:') return;
	if (protocol === 'http:' && allowInsecureHttp) return;
	throw error(`Refusing ${protocol}// URL: only https is allowed unless the credential is marked as a local simulator`);
}

/** SSRF guard (DESIGN.md §6): a signed URL must be https (unless insecure is allowed) on one of the host suffixes. */
export function assertAllowedHost(
	signedUrl: string,
	policy: {
		hostSuffixes: string[];
		allowInsecureHttp?: boolean;
		invalidMessage: string;
		refusedMessage: (host: string, allowed: string[]) => string;
		error?: ErrorFactory;
	},
): void {
	const error = policy.error ?? plainError;
	let url: URL;
	try {
		url = new URL(signedUrl);
	} catch {
		throw error(policy.invalidMessage);
	}
	assertAllowedScheme(url.toString(), policy.allowInsecureHttp, error);
	const host = url.hostname.toLowerCase();
	const allowed = policy.hostSuffixes.map((suffix) => suffix.trim().toLowerCase()).filter(Boolean);
	if (!allowed.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))) throw error(policy.refusedMessage(host, allowed));
}

export interface SignedMedia {
	stream: Readable;
	status: number;
	contentType?: string;
	contentLength?: number;
}

/**
 * GET of a pre-signed URL, from `offset` on: no Authorization header (S3 would refuse it), and redirects followed
 * by hand so every hop passes `assertAllowed` (no SSRF through a 302).
 */
export async function openSignedUrl(
	http: HttpClient,
	signedUrl: string,
	options: { assertAllowed: (url: string) => void; signal?: AbortSignal; offset?: number; error?: ErrorFactory },
): Promise<SignedMedia> {
	const error = options.error ?? plainError;
	const offset = options.offset ?? 0;
	let url = signedUrl;
	for (let hop = 0; ; hop++) {
		options.assertAllowed(url);
		const response = await http.request<Readable>({
			method: 'GET',
			url,
			responseType: 'stream',
			signal: options.signal,
			redirect: 'manual',
			acceptStatus: [301, 302, 303, 307, 308],
			headers: offset > 0 ? { range: `bytes=${offset}-` } : { accept: '*/*' },
		});
		if (response.status >= 300 && response.status < 400) {
			response.body.destroy();
			const location = response.headers.get('location');
			if (!location || hop >= 3) throw error(`A signed media URL redirected ${hop + 1} times without an end`);
			url = new URL(location, url).toString();
			continue;
		}
		if (offset > 0 && response.status !== 206) {
			response.body.destroy();
			throw error(`The media host ignored the Range request (HTTP ${response.status}); cannot resume at byte ${offset}`);
		}
		const length = response.headers.get('content-length');
		return {
			stream: response.body,
			status: response.status,
			contentType: response.headers.get('content-type') ?? undefined,
			contentLength: length === null ? undefined : Number(length),
		};
	}
}

export type OpenSigned = (url: string, offset: number) => Promise<SignedMedia>;

interface ResumeOptions {
	signal?: AbortSignal;
	maxResumes?: number;
	onResume?: (offset: number, reason: string) => void;
}

interface ResumableStream {
	stream: Readable;
	/** The first answer's content type and length, once it arrives; rejects when the very first request fails. */
	first: Promise<{ contentType?: string; contentLength?: number }>;
}

/**
 * A stream over a signed URL that survives broken connections and expired URLs: it resumes with a Range request
 * where it stopped, asking `freshUrl()` for a new signed URL when the old one is refused (403). The consumer (the
 * multipart upload) never sees the interruption.
 */
function resumableSignedStream(open: OpenSigned, initialUrl: string, freshUrl: () => Promise<string>, options: ResumeOptions = {}): ResumableStream {
	let announce!: (value: { contentType?: string; contentLength?: number }) => void;
	let fail!: (error: unknown) => void;
	const first = new Promise<{ contentType?: string; contentLength?: number }>((resolve, reject) => {
		announce = resolve;
		fail = reject;
	});
	first.catch(() => undefined);
	async function* chunks(): AsyncGenerator<Buffer> {
		let url = initialUrl;
		let offset = 0;
		let resumes = 0;
		let announced = false;
		for (;;) {
			try {
				const media = await open(url, offset);
				if (!announced) {
					announced = true;
					announce({ contentType: media.contentType, contentLength: media.contentLength });
				}
				for await (const chunk of media.stream) {
					offset += (chunk as Buffer).length;
					yield chunk as Buffer;
				}
				return;
			} catch (error) {
				const expired = error instanceof HttpError && error.status === 403;
				if (options.signal?.aborted || resumes >= (options.maxResumes ?? 5) || (!announced && !expired)) {
					if (!announced) fail(error);
					throw error;
				}
				resumes++;
				options.onResume?.(offset, expired ? 'signed URL refused (expired)' : (error as Error).message);
				// An expired URL needs a fresh one; a broken connection may reuse the old one once.
				if (expired || resumes > 1) url = await freshUrl();
				await delay(Math.min(2000, 100 * 2 ** resumes), undefined, { signal: options.signal });
			}
		}
	}
	return { stream: Readable.from(chunks(), { objectMode: false }), first };
}

/** Stages from which an object is in the store: staging again reuses it. */
const STAGED_STAGES = new Set(['staged', 'pushed_placeholder', 'pushed_final', 'quarantined']);

export function isStagedStage(stage: string): boolean {
	return STAGED_STAGES.has(stage);
}

export interface StagingDeps {
	store: ObjectStoreApi;
	state: StateStore;
}

/**
 * Records the recording as `staging` (a row already further along keeps its stage) and returns the staged ref when
 * its object is already in the store and intact: a retried execution or redelivered event downloads nothing twice.
 */
export async function reuseStaged(deps: StagingDeps, baseRef: RecordingRef): Promise<RecordingRef | undefined> {
	const { stateKey, source, conversationId, recordingId } = baseRef;
	const row = await deps.state.upsertRecording({ stateKey, source, conversationId, recordingId, stage: 'staging', ref: baseRef });
	if (!isStagedStage(row.stage) || !row.ref.object) return undefined;
	const head = await deps.store.head(row.ref.object.key);
	return head && head.size === row.ref.object.size ? ({ ...baseRef, ...row.ref, object: row.ref.object } as RecordingRef) : undefined;
}

/** Compare-and-swap until the row says staged (a later stage written meanwhile is kept). */
export async function saveStaged(state: StateStore, stateKey: string, ref: RecordingRef): Promise<void> {
	for (let attempt = 0; attempt < 5; attempt++) {
		const row = await state.getRecording(stateKey);
		if (!row) throw new Error(`State row ${stateKey} disappeared while staging`);
		const stage = isStagedStage(row.stage) ? row.stage : 'staged';
		if (await state.updateRecording(stateKey, row.version, { stage, ref: { ...row.ref, ...ref } })) return;
	}
	throw new Error(`State row ${stateKey} kept changing while staging`);
}

export interface SignedDownload {
	open: OpenSigned;
	/** The signed URL to start from; only asked for when the object is not staged yet. */
	initialUrl: () => string;
	freshUrl: () => Promise<string>;
	/** The content type to store under, from the one the media host announced (may be empty). */
	contentTypeOf: (announced: string) => string;
}

/**
 * Stages one recording: streams (never buffers) the signed URL into a multipart upload of the object store, which
 * records size and SHA-256, checks the size against the announced length, and marks the state row staged.
 */
export async function stageSignedMedia(
	deps: StagingDeps,
	baseRef: RecordingRef,
	download: SignedDownload,
	options: { partSizeBytes?: number; signal?: AbortSignal } = {},
): Promise<{ ref: RecordingRef; reused: boolean; resumes: number }> {
	const reused = await reuseStaged(deps, baseRef);
	if (reused) return { ref: reused, reused: true, resumes: 0 };
	const { source, conversationId, recordingId, stateKey } = baseRef;
	let resumes = 0;
	const media = resumableSignedStream(download.open, download.initialUrl(), download.freshUrl, {
		signal: options.signal,
		onResume: () => {
			resumes++;
		},
	});
	// The content type is only known once the first answer arrives and the key needs it before the upload
	// starts: pull the first chunk now. Errors reach the upload through the stream, or `first` before it.
	media.stream.on('error', () => undefined);
	media.stream.read(0);
	const announced = await media.first;
	const contentType = download.contentTypeOf((announced.contentType ?? '').split(';')[0].trim().toLowerCase());
	const key = recordingObjectKey(source, conversationId, recordingId, `original.${extensionForContentType(contentType)}`);
	const stored = await deps.store.uploadStream(key, media.stream, {
		contentType,
		metadata: { 'conversation-id': conversationId, 'recording-id': recordingId, source },
		partSizeBytes: options.partSizeBytes,
		signal: options.signal,
	});
	if (announced.contentLength !== undefined && announced.contentLength !== stored.size) {
		throw new Error(`Recording ${recordingId}: received ${stored.size} bytes, the media host announced ${announced.contentLength}`);
	}
	const ref: RecordingRef = {
		...baseRef,
		object: { bucket: stored.bucket, key: stored.key, size: stored.size, sha256: stored.sha256, contentType: stored.contentType },
	};
	await saveStaged(deps.state, stateKey, ref);
	return { ref, reused: false, resumes };
}
