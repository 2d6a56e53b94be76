/** A remote call that ended in an HTTP error status (after retries). Never carries secrets or signed URLs. */
export class HttpError extends Error {
	constructor(
		readonly status: number,
		readonly method: string,
		/** The URL without its query string: signed media URLs carry credentials in the query. */
		readonly url: string,
		readonly responseBody: unknown,
		message?: string,
		readonly retryAfterMs?: number,
	) {
		super(message ?? `${method} ${url} failed with HTTP ${status}${summarize(responseBody)}`);
		this.name = 'HttpError';
	}

	/** The vendor's own error code when the body carries one (Genesys `code`, OAuth `error`, xAPI `errorId`). */
	get vendorCode(): string | undefined {
		const body = this.responseBody as Record<string, unknown> | undefined;
		if (!body || typeof body !== 'object') return undefined;
		const code = body.code ?? body.error ?? body.errorCode;
		return typeof code === 'string' ? code : undefined;
	}
}

/** The remote end did not answer in time, the connection broke, or retries were exhausted on a network error. */
export class TransportError extends Error {
	constructor(
		message: string,
		readonly url: string,
		readonly cause?: unknown,
	) {
		super(message);
		this.name = 'TransportError';
	}
}

export function stripQuery(url: string): string {
	const at = url.indexOf('?');
	return at === -1 ? url : url.slice(0, at);
}

function summarize(body: unknown): string {
	if (body === undefined || body === null || body === '') return '';
	if (typeof body === 'string') return `: ${body.slice(0, 300)}`;
	const record = body as Record<string, unknown>;
	const message = record.message ?? record.error_description ?? record.description ?? record.error;
	if (typeof message === 'string') return `: ${message.slice(0, 300)}`;
	if (Array.isArray(record.warnings)) return `: ${JSON.stringify(record.warnings).slice(0, 300)}`;
	return `: ${JSON.stringify(body).slice(0, 300)}`;
}
