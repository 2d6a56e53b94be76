import { Readable } from 'node:stream';
import { clearTimeout as clearTimer, setTimeout as setTimer } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';

import { HttpError, TransportError, stripQuery } from './errors';
import type { TokenBucket } from './rateLimit';

export type ResponseType = 'json' | 'text' | 'stream' | 'none';

export interface HttpRequest {
	method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
	url: string;
	query?: Record<string, string | number | boolean | undefined>;
	headers?: Record<string, string>;
	/** Objects are sent as JSON; strings and Buffers as they are. */
	body?: unknown;
	responseType?: ResponseType;
	/** Statuses returned to the caller instead of thrown (e.g. 202 "transcoding", 404 "absent", 412). */
	acceptStatus?: number[];
	timeoutMs?: number;
	signal?: AbortSignal;
	/** `manual` returns 3xx answers to the caller (e.g. to check each hop against an allow-list). */
	redirect?: 'follow' | 'manual';
}

export interface HttpResponse<T = unknown> {
	status: number;
	headers: Headers;
	body: T;
}

export interface RetryPolicy {
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
	/** A Retry-After longer than this is not waited for: the call fails and the item is left for a replay. */
	maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
	maxAttempts: 4,
	baseDelayMs: 500,
	maxDelayMs: 15000,
	maxRetryAfterMs: 180000,
};

export interface HttpClientOptions {
	retry?: Partial<RetryPolicy>;
	bucket?: TokenBucket;
	/** Called with every response so a vendor can read its own rate-limit headers. */
	onResponse?: (response: Response) => void;
	userAgent?: string;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/**
 * The one place that talks HTTP: retries with exponential backoff and full jitter, honours
 * Retry-After (seconds or HTTP date), and waits on a shared token bucket before each attempt.
 */
export class HttpClient {
	readonly retry: RetryPolicy;

	constructor(private readonly options: HttpClientOptions = {}) {
		this.retry = { ...DEFAULT_RETRY, ...options.retry };
	}

	async request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
		const url = buildUrl(request.url, request.query);
		let attempt = 0;
		for (;;) {
			attempt++;
			await this.options.bucket?.take(request.signal);
			let response: Response;
			// The timeout covers the answer, not the body of a stream: a 2 GB download may take minutes.
			const deadline = new Deadline(request.signal, request.timeoutMs ?? 60000);
			try {
				response = await fetch(url, {
					method: request.method,
					headers: this.headersFor(request),
					body: encodeBody(request.body),
					signal: deadline.signal,
					redirect: request.redirect ?? 'follow',
				});
				const accepted = response.ok || request.acceptStatus?.includes(response.status);
				// A stream's body may take minutes; an error body is small and stays under the deadline.
				if (request.responseType === 'stream' && accepted) deadline.clear();
			} catch (error) {
				deadline.clear();
				if (request.signal?.aborted) throw error;
				if (attempt < this.retry.maxAttempts) {
					await delay(this.backoff(attempt), undefined, { signal: request.signal });
					continue;
				}
				throw new TransportError(
					`${request.method} ${stripQuery(url)} failed after ${attempt} attempts: ${(error as Error).message}`,
					stripQuery(url),
					error,
				);
			}
			this.options.onResponse?.(response);
			if (response.ok || request.acceptStatus?.includes(response.status)) {
				try {
					const body = await readBody<T>(response, request.responseType ?? 'json');
					return { status: response.status, headers: response.headers, body };
				} finally {
					if (request.responseType !== 'stream') deadline.clear();
				}
			}
			const body = await readErrorBody(response);
			deadline.clear();
			const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
			const retryable = RETRYABLE.has(response.status) && attempt < this.retry.maxAttempts;
			const tooLong = retryAfterMs !== undefined && retryAfterMs > this.retry.maxRetryAfterMs;
			// Everyone sharing the credential slows down for a sane Retry-After; an absurd one fails this call
			// (left for a replay) instead of freezing every other execution of the process.
			if (retryAfterMs !== undefined && response.status === 429 && !tooLong) {
				this.options.bucket?.pauseUntil(Date.now() + retryAfterMs);
			}
			if (!retryable || tooLong) {
				throw new HttpError(
					response.status,
					request.method,
					stripQuery(url),
					body,
					tooLong
						? `${request.method} ${stripQuery(url)} asked to retry after ${Math.round(retryAfterMs / 1000)} s, longer than the ${Math.round(this.retry.maxRetryAfterMs / 1000)} s allowed`
						: undefined,
					retryAfterMs,
				);
			}
			await delay(retryAfterMs ?? this.backoff(attempt), undefined, { signal: request.signal });
		}
	}

	/** Full-jitter exponential backoff. */
	backoff(attempt: number): number {
		const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
		return Math.floor(cap / 2 + Math.random() * (cap / 2));
	}

	private headersFor(request: HttpRequest): Record<string, string> {
		const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
		if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
		if (request.body !== undefined && !hasHeader(headers, 'content-type') && isJsonBody(request.body)) {
			headers['content-type'] = 'application/json';
		}
		return headers;
	}
}

export function buildUrl(base: string, query?: HttpRequest['query']): string {
	if (!query) return base;
	const url = new URL(base);
	for (const [name, value] of Object.entries(query)) {
		if (value !== undefined) url.searchParams.set(name, String(value));
	}
	return url.toString();
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
	if (value === null || value.trim() === '') return undefined;
	if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
	return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function isJsonBody(body: unknown): boolean {
	return typeof body === 'object' && body !== null && !Buffer.isBuffer(body) && !(body instanceof URLSearchParams);
}

function encodeBody(body: unknown): string | Buffer | URLSearchParams | undefined {
	if (body === undefined) return undefined;
	if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof URLSearchParams) return body;
	return JSON.stringify(body);
}

class Deadline {
	private readonly controller = new AbortController();
	private readonly timer: NodeJS.Timeout;
	readonly signal: AbortSignal;

	constructor(outer: AbortSignal | undefined, timeoutMs: number) {
		this.timer = setTimer(() => this.controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
		this.signal = outer ? AbortSignal.any([outer, this.controller.signal]) : this.controller.signal;
	}

	clear(): void {
		clearTimer(this.timer);
	}
}

async function readBody<T>(response: Response, type: ResponseType): Promise<T> {
	if (type === 'stream') {
		if (!response.body) return Readable.from([]) as T;
		return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream) as T;
	}
	const text = await response.text();
	if (type === 'none') return undefined as T;
	if (type === 'text') return text as T;
	if (text === '') return undefined as T;
	try {
		return JSON.parse(text) as T;
	} catch {
		return text as T;
	}
}

async function readErrorBody(response: Response): Promise<unknown> {
	const text = await response.text().catch(() => '');
	if (text === '') return undefined;
	try {
		return JSON.parse(text);
	} catch {
		return text.slice(0, 2000);
	}
}
