import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

import { HttpClient, type HttpRequest, type RetryPolicy } from '../../transport/http';
import { sharedBucket, type TokenBucket } from '../../transport/rateLimit';
import { assertAllowedHost, assertAllowedScheme, openSignedUrl, TokenCache, type SignedMedia } from '../common';
import type { NiceCredentials, NiceSession } from './types';

export const DEFAULT_AUTH_BASE_URL = 'https://cxone.niceincontact.com';
export const DEFAULT_LEGACY_AUTH_BASE_URL = 'https://na1.nice-incontact.com';
/** "Default API performance is set to 150 requests per five minutes" (Media Playback API help page). */
export const DEFAULT_PLAYBACK_PER_5_MIN = 150;
/** Data Extraction: one call per 30 seconds per tenant, answered with 403 beyond that. */
export const DEFAULT_EXTRACTION_MIN_INTERVAL_MS = 30_000;

/**
 * Signed media and result URLs point at NICE's storage; the exact hosts are not documented, so NICE's domains and
 * AWS S3 are allowed and operators can add their own.
 */
const VENDOR_HOST_SUFFIXES = ['niceincontact.com', 'nice-incontact.com', 'amazonaws.com'];

const sessions = new TokenCache<NiceSession>();
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

const niceError = (message: string) => new NiceApiError(message);

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
		return await sessions.get(this.cacheKey, () => this.newSession(), forceRefresh);
	}

	private async newSession(): Promise<NiceSession> {
		return this.credentials.authFlow === 'oauth' ? await this.oauthSession() : await this.accessKeySession();
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
		const response = await sessions.withValue(this.cacheKey, () => this.newSession(), (session) =>
			http.request<T>({ ...rest, url: `${session.apiBaseUrl}${path}`, headers: { ...rest.headers, authorization: `Bearer ${session.accessToken}` } }),
		);
		return { status: response.status, body: response.body, headers: response.headers };
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

	/** GET of a pre-signed URL (media or extraction result) from `offset` on; every redirect hop passes the allow-list. */
	async openSigned(signedUrl: string, options: { signal?: AbortSignal; offset?: number } = {}): Promise<SignedMedia> {
		return await openSignedUrl(this.http, signedUrl, { ...options, assertAllowed: (url) => this.assertAllowedSignedUrl(url), error: niceError });
	}

	/** SSRF guard (DESIGN.md §6): signed URLs only from NICE's and AWS's hosts, the API host or the allow-list. */
	assertAllowedSignedUrl(signedUrl: string): void {
		assertAllowedHost(signedUrl, {
			hostSuffixes: [
				...VENDOR_HOST_SUFFIXES,
				...(this.credentials.allowedMediaHosts ?? []),
				// A simulator serves media from its own host.
				...(this.credentials.allowInsecureHttp
					? [this.authBaseUrl, this.legacyAuthBaseUrl, this.credentials.apiBaseUrl].filter(Boolean).map((base) => new URL(base as string).hostname)
					: []),
			],
			allowInsecureHttp: this.credentials.allowInsecureHttp,
			invalidMessage: 'NICE CXone returned a signed URL that is not a valid URL',
			refusedMessage: (host, allowed) => `Host "${host}" is not allowed for this NICE CXone credential (allowed: ${allowed.join(', ')})`,
			error: niceError,
		});
	}

	private assertAllowedScheme(url: string): void {
		assertAllowedScheme(url, this.credentials.allowInsecureHttp, niceError);
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

/** For tests: forget cached tokens, discovery answers and extraction turns. */
export function clearNiceClientCaches(): void {
	sessions.clear();
	discoveries.clear();
	lastExtractionCall.clear();
}

function trimSlash(url: string): string {
	return url.replace(/\/+$/, '');
}
