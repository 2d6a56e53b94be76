import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

import { HttpError } from '../../transport/errors';
import { HttpClient, type HttpRequest, type RetryPolicy } from '../../transport/http';
import { sharedBucket, type TokenBucket } from '../../transport/rateLimit';
import type { NiceCredentials, NiceSession } from './types';

export const DEFAULT_AUTH_BASE_URL = 'https://cxone.niceincontact.com';
export const DEFAULT_LEGACY_AUTH_BASE_URL = 'https://na1.nice-incontact.com';
/** "Default API performance is set to 150 requests per five minutes" (Media Playback API help page). */
export const DEFAULT_PLAYBACK_PER_5_MIN = 150;
/** Data Extraction: one call per 30 seconds per tenant, answered with 403 beyond that. */
export const DEFAULT_EXTRACTION_MIN_INTERVAL_MS = 30_000;

/** Refresh this long before `expires_in` runs out (tokens live about an hour). */
const TOKEN_SAFETY_MARGIN_MS = 60_000;
/**
 * Signed media and result URLs point at NICE's storage; the exact hosts are not documented, so NICE's domains and
 * AWS S3 are allowed and operators can add their own.
 */
const VENDOR_HOST_SUFFIXES = ['niceincontact.com', 'nice-incontact.com', 'amazonaws.com'];

const sessions = new Map<string, NiceSession>();
const pendingSessions = new Map<string, Promise<NiceSession>>();
const discoveries = new Map<string, string>();
/** Last Data Extraction call per tenant in this process. */
const lastExtractionCall = new Map<string, number>();

export interface NiceClientOptions {
	retry?: Partial<RetryPolicy>;
	/** Replaces the shared per-tenant playback bucket (tests). */
	playbackBucket?: TokenBucket;
}

/** Media Playback or Data Extraction answered in a way that names no usable media or result. */
export class NiceApiError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'NiceApiError';
	}
}

/**
 * NICE CXone API client: both token flows with a per-process token cache, API host discovery, the Media Playback
 * token bucket, the Data Extraction spacing, and an SSRF guard on signed URLs. All HTTP goes through HttpClient.
 */
export class NiceClient {
	readonly cacheKey: string;
	private readonly http: HttpClient;
	private readonly playbackHttp: HttpClient;
	private readonly authBaseUrl: string;
	private readonly legacyAuthBaseUrl: string;

	constructor(
		readonly credentials: NiceCredentials,
		options: NiceClientOptions = {},
	) {
		if (!credentials.accessKeyId) throw new Error('NICE CXone credential: Access Key ID is empty');
		if (!credentials.accessKeySecret) throw new Error('NICE CXone credential: Access Key Secret is empty');
		if (credentials.authFlow === 'oauth' && (!credentials.clientId || !credentials.clientSecret)) {
			throw new Error('NICE CXone credential: the OAuth flow needs the Client ID and Client Secret of your registered application');
		}
		this.authBaseUrl = trimSlash(credentials.authBaseUrl || DEFAULT_AUTH_BASE_URL);
		this.legacyAuthBaseUrl = trimSlash(credentials.legacyAuthBaseUrl || DEFAULT_LEGACY_AUTH_BASE_URL);
		for (const url of [this.authBaseUrl, this.legacyAuthBaseUrl, credentials.apiBaseUrl].filter(Boolean) as string[]) {
			this.assertAllowedScheme(url);
		}
		const secretHash = createHash('sha256')
			.update(`${credentials.accessKeySecret}\u0000${credentials.clientSecret ?? ''}`)
			.digest('hex')
			.slice(0, 16);
		const authHost = credentials.authFlow === 'oauth' ? this.authBaseUrl : this.legacyAuthBaseUrl;
		this.cacheKey = `${credentials.authFlow}|${authHost}|${credentials.clientId ?? ''}|${credentials.accessKeyId}|${secretHash}`;
		this.http = new HttpClient({ retry: options.retry });
		const perFiveMinutes = credentials.playbackRequestsPer5Min || DEFAULT_PLAYBACK_PER_5_MIN;
		this.playbackHttp = new HttpClient({
			retry: options.retry,
			bucket: options.playbackBucket ?? sharedBucket(`nice-playback|${this.cacheKey}`, perFiveMinutes / 5),
		});
	}

	get extractionMinIntervalMs(): number {
		const value = this.credentials.extractionMinIntervalMs;
		return value === undefined || !Number.isFinite(value) || value < 0 ? DEFAULT_EXTRACTION_MIN_INTERVAL_MS : value;
	}

	/** A valid session (token + API host), cached per credential until shortly before the token expires. */
	async session(forceRefresh = false): Promise<NiceSession> {
		const cached = sessions.get(this.cacheKey);
		if (!forceRefresh && cached && cached.expiresAt - TOKEN_SAFETY_MARGIN_MS > Date.now()) return cached;
		let pending = pendingSessions.get(this.cacheKey);
		if (!pending) {
			pending = (this.credentials.authFlow === 'oauth' ? this.oauthSession() : this.accessKeySession())
				.then((session) => {
					sessions.set(this.cacheKey, session);
					return session;
				})
				.finally(() => pendingSessions.delete(this.cacheKey));
			pendingSessions.set(this.cacheKey, pending);
		}
		return pending;
	}

	/** The tenant the Data Extraction spacing applies to: the tenant id when known, else the API host. */
	async tenantKey(): Promise<string> {
		const session = await this.session();
		return session.tenantId ? `tenant:${session.tenantId}` : `api:${session.apiBaseUrl}`;
	}

	/**
	 * Documented flow: OpenID discovery → token_endpoint; password grant with the access key as username/password
	 * and the application's client in a Basic header; id_token carries tenantId; cxone-configuration names the API host.
	 */
	private async oauthSession(): Promise<NiceSession> {
		const tokenEndpoint = await this.tokenEndpoint();
		const basic = Buffer.from(`${this.credentials.clientId}:${this.credentials.clientSecret}`).toString('base64');
		const response = await this.http.request<{ access_token?: string; id_token?: string; expires_in?: number }>({
			method: 'POST',
			url: tokenEndpoint,
			headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'password',
				username: this.credentials.accessKeyId,
				password: this.credentials.accessKeySecret,
			}),
		});
		const accessToken = response.body?.access_token;
		if (!accessToken) throw new NiceApiError('NICE CXone token endpoint answered without an access_token');
		const tenantId = tenantIdFromIdToken(response.body?.id_token);
		let apiBaseUrl = this.credentials.apiBaseUrl ? trimSlash(this.credentials.apiBaseUrl) : undefined;
		let area: string | undefined;
		if (!apiBaseUrl) {
			if (!tenantId) throw new NiceApiError('NICE CXone id_token carries no tenantId: set the API Base URL in the credential');
			const discovered = await this.apiEndpoint(tenantId);
			apiBaseUrl = discovered.apiBaseUrl;
			area = discovered.area;
		}
		this.assertAllowedScheme(apiBaseUrl);
		return { accessToken, expiresAt: Date.now() + Number(response.body?.expires_in ?? 3600) * 1000, apiBaseUrl, tenantId, area };
	}

	private async tokenEndpoint(): Promise<string> {
		const key = this.authBaseUrl;
		const known = discoveries.get(key);
		if (known) return known;
		const { body } = await this.http.request<{ token_endpoint?: string }>({
			method: 'GET',
			url: `${this.authBaseUrl}/.well-known/openid-configuration`,
		});
		const endpoint = body?.token_endpoint;
		if (!endpoint) throw new NiceApiError('The NICE CXone OpenID configuration names no token_endpoint');
		this.assertAllowedScheme(endpoint);
		discoveries.set(key, endpoint);
		return endpoint;
	}

	/** `GET {authBase}/.well-known/cxone-configuration?tenantId=` → `{api_endpoint, area}`; host api-{area}.niceincontact.com. */
	private async apiEndpoint(tenantId: string): Promise<{ apiBaseUrl: string; area?: string }> {
		const { body } = await this.http.request<{ api_endpoint?: string; area?: string }>({
			method: 'GET',
			url: `${this.authBaseUrl}/.well-known/cxone-configuration`,
			query: { tenantId },
		});
		const area = typeof body?.area === 'string' ? body.area : undefined;
		const endpoint = body?.api_endpoint ?? (area ? `https://api-${area}.niceincontact.com` : undefined);
		if (!endpoint) throw new NiceApiError('The NICE CXone configuration names neither api_endpoint nor area');
		return { apiBaseUrl: trimSlash(endpoint), area };
	}

	/** Legacy: `POST …/authentication/v1/token/access-key {accessKeyId, accessKeySecret}` → token and resource_server_base_uri. */
	private async accessKeySession(): Promise<NiceSession> {
		const response = await this.http.request<{ access_token?: string; expires_in?: number; resource_server_base_uri?: string }>({
			method: 'POST',
			url: `${this.legacyAuthBaseUrl}/authentication/v1/token/access-key`,
			body: { accessKeyId: this.credentials.accessKeyId, accessKeySecret: this.credentials.accessKeySecret },
		});
		const accessToken = response.body?.access_token;
		if (!accessToken) throw new NiceApiError('NICE CXone access-key endpoint answered without an access_token');
		// resource_server_base_uri names the reporting API (…/inContactAPI/); that Media Playback and Data Extraction
		// live on the same host is inferred, not documented, so the credential's API Base URL wins when set.
		let apiBaseUrl = this.credentials.apiBaseUrl ? trimSlash(this.credentials.apiBaseUrl) : undefined;
		if (!apiBaseUrl) {
			const resource = response.body?.resource_server_base_uri;
			if (!resource) throw new NiceApiError('NICE CXone access-key answer has no resource_server_base_uri: set the API Base URL');
			apiBaseUrl = new URL(resource).origin;
		}
		this.assertAllowedScheme(apiBaseUrl);
		// The legacy refresh endpoint (public/user/refresh) is not used: a new access-key token is as cheap.
		return { accessToken, expiresAt: Date.now() + Number(response.body?.expires_in ?? 3600) * 1000, apiBaseUrl };
	}

	/** An authenticated call on the API host; a 401 refreshes the session once. */
	async api<T>(request: Omit<HttpRequest, 'url'> & { path: string; playback?: boolean }): Promise<{ status: number; body: T; headers: Headers }> {
		const { path, playback, ...rest } = request;
		const http = playback ? this.playbackHttp : this.http;
		for (let attempt = 1; ; attempt++) {
			const session = await this.session(attempt > 1);
			try {
				const response = await http.request<T>({
					...rest,
					url: `${session.apiBaseUrl}${path}`,
					headers: { ...rest.headers, authorization: `Bearer ${session.accessToken}` },
				});
				return { status: response.status, body: response.body, headers: response.headers };
			} catch (error) {
				if (error instanceof HttpError && error.status === 401 && attempt === 1) {
					sessions.delete(this.cacheKey);
					continue;
				}
				throw error;
			}
		}
	}

	/**
	 * Waits for this tenant's turn at the Data Extraction API (one call per interval, shared by every execution
	 * in this process). Other integrations on the same tenant are not visible here: their calls show up as 403.
	 */
	async extractionTurn(signal?: AbortSignal): Promise<void> {
		const key = await this.tenantKey();
		const interval = this.extractionMinIntervalMs;
		for (;;) {
			const now = Date.now();
			const next = (lastExtractionCall.get(key) ?? -Infinity) + interval;
			if (now >= next) {
				lastExtractionCall.set(key, now);
				return;
			}
			await delay(next - now, undefined, { signal });
		}
	}

	/** Marks a call the tenant made (e.g. one answered with the throttle 403), so the next waits a full interval. */
	async noteExtractionCall(): Promise<void> {
		lastExtractionCall.set(await this.tenantKey(), Date.now());
	}

	/**
	 * GET of a pre-signed URL (media or extraction result): no Authorization header (S3 would refuse it), redirects
	 * followed by hand so every hop passes the allow-list.
	 */
	async openSigned(signedUrl: string, options: { signal?: AbortSignal; offset?: number } = {}): Promise<{
		stream: Readable;
		contentType?: string;
		contentLength?: number;
		status: number;
	}> {
		let url = signedUrl;
		const offset = options.offset ?? 0;
		for (let hop = 0; ; hop++) {
			this.assertAllowedSignedUrl(url);
			const response = await this.http.request<Readable>({
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
				if (!location || hop >= 3) throw new NiceApiError(`A signed NICE CXone URL redirected ${hop + 1} times without an end`);
				url = new URL(location, url).toString();
				continue;
			}
			if (offset > 0 && response.status !== 206) {
				response.body.destroy();
				throw new NiceApiError(`The media host ignored the Range request (HTTP ${response.status}); cannot resume at byte ${offset}`);
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

	/** SSRF guard (DESIGN.md §6): signed URLs only from NICE's and AWS's hosts, the API host or the allow-list. */
	assertAllowedSignedUrl(signedUrl: string): void {
		let url: URL;
		try {
			url = new URL(signedUrl);
		} catch {
			throw new NiceApiError('NICE CXone returned a signed URL that is not a valid URL');
		}
		this.assertAllowedScheme(url.toString());
		const host = url.hostname.toLowerCase();
		const allowed = [
			...VENDOR_HOST_SUFFIXES,
			...(this.credentials.allowedMediaHosts ?? []),
			// A simulator serves media from its own host.
			...(this.credentials.allowInsecureHttp ? [this.authBaseUrl, this.legacyAuthBaseUrl, this.credentials.apiBaseUrl]
				.filter(Boolean)
				.map((base) => new URL(base as string).hostname) : []),
		]
			.map((suffix) => suffix.trim().toLowerCase())
			.filter(Boolean);
		if (!allowed.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))) {
			throw new NiceApiError(`Host "${host}" is not allowed for this NICE CXone credential (allowed: ${allowed.join(', ')})`);
		}
	}

	private assertAllowedScheme(url: string): void {
		const protocol = new URL(url).protocol;
		if (protocol === 'https:') return;
		if (protocol === 'http:' && this.credentials.allowInsecureHttp) return;
		throw new NiceApiError(`Refusing ${protocol}// URL: only https is allowed unless the credential is marked as a local simulator`);
	}
}

/** The id_token's payload is read, not verified: it came straight from the token endpoint over TLS. */
export function tenantIdFromIdToken(idToken: string | undefined): string | undefined {
	if (!idToken) return undefined;
	const payload = idToken.split('.')[1];
	if (!payload) return undefined;
	try {
		const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
		const tenantId = claims.tenantId ?? claims.tenant_id;
		return typeof tenantId === 'string' && tenantId ? tenantId : undefined;
	} catch {
		return undefined;
	}
}

/**
 * A stream over a signed URL that survives broken connections and expired URLs: it resumes with a Range request
 * where it stopped, asking `freshUrl()` for a new signed URL when the old one is refused (403).
 */
export function resumableSignedStream(
	client: NiceClient,
	initialUrl: string,
	freshUrl: () => Promise<string>,
	options: { signal?: AbortSignal; maxResumes?: number; onResume?: (offset: number, reason: string) => void } = {},
): { stream: Readable; first: Promise<{ contentType?: string; contentLength?: number }> } {
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
				const media = await client.openSigned(url, { signal: options.signal, offset });
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
				// An expired URL needs a fresh one from the API; a broken connection may reuse the old one once.
				if (expired || resumes > 1) url = await freshUrl();
				await delay(Math.min(2000, 50 * 2 ** resumes), undefined, { signal: options.signal });
			}
		}
	}
	return { stream: Readable.from(chunks(), { objectMode: false }), first };
}

/** For tests: forget cached tokens, discovery answers and extraction turns. */
export function clearNiceClientCaches(): void {
	sessions.clear();
	discoveries.clear();
	lastExtractionCall.clear();
}

function trimSlash(url: string): string {
	return url.replace(/\/+$/, '');
}
