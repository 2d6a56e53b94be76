import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

import { HttpError } from '../../transport/errors';
import { HttpClient, type HttpRequest } from '../../transport/http';
import { sharedBucket } from '../../transport/rateLimit';
import { genesysEndpoints, type GenesysEndpoints } from './regions';
import type { GenesysOrganization, GenesysRecording } from './types';

export interface GenesysCredentials {
	region: string;
	customBaseUrl?: string;
	customLoginUrl?: string;
	clientId: string;
	clientSecret: string;
	/** Plain http and loopback hosts, for simulators and private test deployments only. */
	allowInsecureHttp?: boolean;
	/** Extra hosts (suffix match) signed media URLs may come from. */
	allowedMediaHosts?: string[];
	/** Requests per minute for this OAuth client (Genesys default: 300 per client-credentials token). */
	requestsPerMinute?: number;
}

interface CachedToken {
	accessToken: string;
	expiresAt: number;
}

/** Tokens are shared by every execution in this process until shortly before they expire. */
const tokenCache = new Map<string, CachedToken>();
const pendingTokens = new Map<string, Promise<CachedToken>>();

/** Refresh this long before `expires_in` runs out, so a token never expires mid-request. */
const TOKEN_SAFETY_MARGIN_MS = 60000;

export type RecordingsAnswer =
	| { state: 'ready'; recordings: GenesysRecording[] }
	| { state: 'transcoding' };

export class GenesysClient {
	readonly endpoints: GenesysEndpoints;
	private readonly http: HttpClient;
	private readonly cacheKey: string;

	constructor(
		private readonly credentials: GenesysCredentials,
		http?: HttpClient,
	) {
		if (!credentials.clientId) throw new Error('Genesys Cloud credential: Client ID is empty');
		if (!credentials.clientSecret) throw new Error('Genesys Cloud credential: Client Secret is empty');
		this.endpoints = genesysEndpoints(credentials.region, credentials.customBaseUrl, credentials.customLoginUrl);
		const secretHash = createHash('sha256').update(credentials.clientSecret).digest('hex').slice(0, 16);
		this.cacheKey = `${this.endpoints.loginBaseUrl}|${credentials.clientId}|${secretHash}`;
		const bucket = sharedBucket(`genesys|${this.cacheKey}`, credentials.requestsPerMinute ?? 300);
		this.http =
			http ??
			new HttpClient({
				bucket,
				// inin-ratelimit-* tell how close this token is to its limit: slow down before a 429.
				onResponse: (response) => {
					const count = Number(response.headers.get('inin-ratelimit-count'));
					const allowed = Number(response.headers.get('inin-ratelimit-allowed'));
					const reset = Number(response.headers.get('inin-ratelimit-reset'));
					if (allowed > 0 && count >= allowed * 0.95 && reset > 0) {
						bucket.pauseUntil(Date.now() + Math.min(reset, 60) * 1000);
					}
				},
			});
		for (const url of [this.endpoints.apiBaseUrl, this.endpoints.loginBaseUrl]) this.assertAllowedScheme(url);
	}

	/** Client-credentials grant (`POST https://login.{env}/oauth/token`), cached per client until shortly before expiry. */
	async getAccessToken(forceRefresh = false): Promise<string> {
		const cached = tokenCache.get(this.cacheKey);
		if (!forceRefresh && cached && cached.expiresAt - TOKEN_SAFETY_MARGIN_MS > Date.now()) {
			return cached.accessToken;
		}
		let pending = pendingTokens.get(this.cacheKey);
		if (!pending) {
			pending = this.requestToken().finally(() => pendingTokens.delete(this.cacheKey));
			pendingTokens.set(this.cacheKey, pending);
		}
		return (await pending).accessToken;
	}

	private async requestToken(): Promise<CachedToken> {
		const basic = Buffer.from(`${this.credentials.clientId}:${this.credentials.clientSecret}`).toString('base64');
		const response = await this.http.request<{ access_token?: string; expires_in?: number }>({
			method: 'POST',
			url: `${this.endpoints.loginBaseUrl}/oauth/token`,
			headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'client_credentials' }),
		});
		const accessToken = response.body?.access_token;
		if (!accessToken) throw new Error('Genesys Cloud token endpoint answered without an access_token');
		const expiresInSec = Number(response.body?.expires_in ?? 3600);
		const token = { accessToken, expiresAt: Date.now() + expiresInSec * 1000 };
		tokenCache.set(this.cacheKey, token);
		return token;
	}

	/** An authenticated Platform API call; a 401 refreshes the token once (it may have been revoked). */
	async api<T>(request: Omit<HttpRequest, 'url'> & { path: string }): Promise<{ status: number; body: T }> {
		const { path, ...rest } = request;
		for (let attempt = 1; ; attempt++) {
			const token = await this.getAccessToken(attempt > 1);
			try {
				const response = await this.http.request<T>({
					...rest,
					url: `${this.endpoints.apiBaseUrl}${path}`,
					headers: { ...rest.headers, authorization: `Bearer ${token}` },
				});
				return { status: response.status, body: response.body };
			} catch (error) {
				if (error instanceof HttpError && error.status === 401 && attempt === 1) {
					tokenCache.delete(this.cacheKey);
					continue;
				}
				throw error;
			}
		}
	}

	async getOrganization(): Promise<GenesysOrganization> {
		return (await this.api<GenesysOrganization>({ method: 'GET', path: '/api/v2/organizations/me' })).body;
	}

	/**
	 * `GET /api/v2/conversations/{id}/recordings`: 202 with an empty body while media is transcoding
	 * (`maxWaitMs` lets the server hold the answer), 200 with the recordings once ready.
	 */
	async getRecordings(
		conversationId: string,
		options: { maxWaitMs?: number; formatId?: string; signal?: AbortSignal } = {},
	): Promise<RecordingsAnswer> {
		const response = await this.api<GenesysRecording[]>({
			method: 'GET',
			path: `/api/v2/conversations/${encodeURIComponent(conversationId)}/recordings`,
			query: { maxWaitMs: options.maxWaitMs ?? 5000, formatId: options.formatId ?? 'WEBM' },
			acceptStatus: [202],
			timeoutMs: (options.maxWaitMs ?? 5000) + 30000,
			signal: options.signal,
		});
		if (response.status === 202) return { state: 'transcoding' };
		return { state: 'ready', recordings: Array.isArray(response.body) ? response.body : [] };
	}

	/** Polls through 202 answers, never longer than `maxTotalWaitMs`. */
	async waitForRecordings(
		conversationId: string,
		options: { maxTotalWaitMs: number; maxWaitMs?: number; pollIntervalMs?: number; signal?: AbortSignal },
	): Promise<RecordingsAnswer & { polls: number; waitedMs: number }> {
		const started = Date.now();
		for (let polls = 1; ; polls++) {
			const remaining = options.maxTotalWaitMs - (Date.now() - started);
			const maxWaitMs = Math.max(0, Math.min(options.maxWaitMs ?? 5000, remaining));
			const answer = await this.getRecordings(conversationId, { maxWaitMs, signal: options.signal });
			const waitedMs = Date.now() - started;
			if (answer.state === 'ready' || waitedMs >= options.maxTotalWaitMs) return { ...answer, polls, waitedMs };
			const pause = Math.min(options.pollIntervalMs ?? 1000, options.maxTotalWaitMs - waitedMs);
			if (pause > 0) await delay(pause, undefined, { signal: options.signal });
		}
	}

	/** Streams a signed media URL after checking it points at an allowed host. */
	async openMedia(
		mediaUri: string,
		signal?: AbortSignal,
		offset = 0,
	): Promise<{ stream: Readable; contentType?: string; contentLength?: number }> {
		let url = mediaUri;
		// Redirects are followed by hand so every hop passes the same allow-list (no SSRF through a 302).
		for (let hop = 0; ; hop++) {
			this.assertAllowedMediaUrl(url);
			const response = await this.http.request<Readable>({
				method: 'GET',
				url,
				responseType: 'stream',
				signal,
				redirect: 'manual',
				acceptStatus: [301, 302, 303, 307, 308],
				headers: offset > 0 ? { range: `bytes=${offset}-` } : undefined,
			});
			if (response.status >= 300 && response.status < 400) {
				response.body.destroy();
				const location = response.headers.get('location');
				if (!location || hop >= 3) throw new Error(`Media download of a recording redirected ${hop + 1} times without an end`);
				url = new URL(location, url).toString();
				continue;
			}
			if (offset > 0 && response.status !== 206) {
				response.body.destroy();
				throw new Error(`Media host ignored the Range request (HTTP ${response.status}); cannot resume at byte ${offset}`);
			}
			return mediaResponse(response);
		}
	}

	/**
	 * A media stream that survives broken connections and expiring signed URLs: it resumes with a Range
	 * request where it stopped, asking `freshUri()` for a new signed URL when the old one is refused (403).
	 * The consumer (the multipart upload) never sees the interruption.
	 */
	resumableMedia(
		mediaUri: string,
		freshUri: () => Promise<string>,
		options: { signal?: AbortSignal; maxResumes?: number; onResume?: (offset: number, reason: string) => void } = {},
	): { stream: Readable; first: Promise<{ contentType?: string; contentLength?: number }> } {
		const open = (url: string, offset: number) => this.openMedia(url, options.signal, offset);
		let announce!: (value: { contentType?: string; contentLength?: number }) => void;
		let fail!: (error: unknown) => void;
		const first = new Promise<{ contentType?: string; contentLength?: number }>((resolve, reject) => {
			announce = resolve;
			fail = reject;
		});
		first.catch(() => undefined);
		async function* chunks(): AsyncGenerator<Buffer> {
			let url = mediaUri;
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
					if (options.signal?.aborted || resumes >= (options.maxResumes ?? 5)) {
						if (!announced) fail(error);
						throw error;
					}
					resumes++;
					const expired = error instanceof HttpError && error.status === 403;
					if (!announced && !expired) {
						fail(error);
						throw error;
					}
					options.onResume?.(offset, expired ? 'signed URL refused' : (error as Error).message);
					// An expired or refused URL needs a fresh one; a broken connection may reuse the old one.
					if (expired || resumes > 1) url = await freshUri();
					await delay(Math.min(2000, 100 * 2 ** resumes), undefined, { signal: options.signal });
				}
			}
		}
		return { stream: Readable.from(chunks(), { objectMode: false }), first };
	}

	/** SSRF guard (DESIGN.md §6): media only from the region's hosts or the credential's allow-list. */
	assertAllowedMediaUrl(mediaUri: string): void {
		let url: URL;
		try {
			url = new URL(mediaUri);
		} catch {
			throw new Error('Genesys Cloud returned a media URI that is not a valid URL');
		}
		this.assertAllowedScheme(url.toString());
		const host = url.hostname.toLowerCase();
		const allowed = [...this.endpoints.mediaHostSuffixes, ...(this.credentials.allowedMediaHosts ?? [])]
			.map((suffix) => suffix.trim().toLowerCase())
			.filter(Boolean);
		if (!allowed.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))) {
			throw new Error(`Media host "${host}" is not allowed for this credential (allowed: ${allowed.join(', ')})`);
		}
	}

	private assertAllowedScheme(url: string): void {
		const protocol = new URL(url).protocol;
		if (protocol === 'https:') return;
		if (protocol === 'http:' && this.credentials.allowInsecureHttp) return;
		throw new Error(`Refusing ${protocol}// URL: only https is allowed unless the credential is marked as a local simulator`);
	}
}

function mediaResponse(response: { headers: Headers; body: Readable }): { stream: Readable; contentType?: string; contentLength?: number } {
	const length = response.headers.get('content-length');
	return {
		stream: response.body,
		contentType: response.headers.get('content-type') ?? undefined,
		contentLength: length === null ? undefined : Number(length),
	};
}

/** For tests: forget cached tokens. */
export function clearGenesysTokenCache(): void {
	tokenCache.clear();
}
