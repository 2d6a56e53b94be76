import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

import { HttpClient, type HttpRequest } from '../../transport/http';
import { sharedBucket } from '../../transport/rateLimit';
import { assertAllowedHost, assertAllowedScheme, openSignedUrl, TokenCache, type SignedMedia } from '../common';
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
const tokens = new TokenCache<CachedToken>();

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
		for (const url of [this.endpoints.apiBaseUrl, this.endpoints.loginBaseUrl]) assertAllowedScheme(url, credentials.allowInsecureHttp);
	}

	/** Client-credentials grant (`POST https://login.{env}/oauth/token`), cached per client until shortly before expiry. */
	async getAccessToken(forceRefresh = false): Promise<string> {
		return (await tokens.get(this.cacheKey, () => this.requestToken(), forceRefresh)).accessToken;
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
		return { accessToken, expiresAt: Date.now() + expiresInSec * 1000 };
	}

	/** An authenticated Platform API call; a 401 refreshes the token once (it may have been revoked). */
	async api<T>(request: Omit<HttpRequest, 'url'> & { path: string }): Promise<{ status: number; body: T }> {
		const { path, ...rest } = request;
		const response = await tokens.withValue(this.cacheKey, () => this.requestToken(), (token) =>
			this.http.request<T>({ ...rest, url: `${this.endpoints.apiBaseUrl}${path}`, headers: { ...rest.headers, authorization: `Bearer ${token.accessToken}` } }),
		);
		return { status: response.status, body: response.body };
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

	/** Streams a signed media URL (from `offset` on) after checking every hop points at an allowed host. */
	async openMedia(mediaUri: string, signal?: AbortSignal, offset = 0): Promise<SignedMedia> {
		return await openSignedUrl(this.http, mediaUri, { signal, offset, assertAllowed: (url) => this.assertAllowedMediaUrl(url) });
	}

	/** SSRF guard (DESIGN.md §6): media only from the region's hosts or the credential's allow-list. */
	assertAllowedMediaUrl(mediaUri: string): void {
		assertAllowedHost(mediaUri, {
			hostSuffixes: [...this.endpoints.mediaHostSuffixes, ...(this.credentials.allowedMediaHosts ?? [])],
			allowInsecureHttp: this.credentials.allowInsecureHttp,
			invalidMessage: 'Genesys Cloud returned a media URI that is not a valid URL',
			refusedMessage: (host, allowed) => `Media host "${host}" is not allowed for this credential (allowed: ${allowed.join(', ')})`,
		});
	}
}

/** For tests: forget cached tokens. */
export function clearGenesysTokenCache(): void {
	tokens.clear();
}
