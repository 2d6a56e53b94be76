import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string comparison. Both sides are hashed first so the comparison takes the same time
 * whatever the lengths, and a length mismatch leaks nothing.
 */
export function secretsEqual(received: string | undefined, expected: string): boolean {
	if (typeof received !== 'string' || expected === '') return false;
	const a = createHash('sha256').update(received).digest();
	const b = createHash('sha256').update(expected).digest();
	return timingSafeEqual(a, b);
}

/** Verifies `sha256=<hex>` (or bare hex) HMAC-SHA256 over the raw body in constant time. */
export function hmacSha256Matches(rawBody: Buffer, secret: string, signatureHeader: string | undefined): boolean {
	if (!signatureHeader || secret === '') return false;
	const received = signatureHeader.trim().replace(/^sha256=/i, '');
	if (!/^[0-9a-f]{64}$/i.test(received)) return false;
	const expected = createHmac('sha256', secret).update(rawBody).digest();
	return timingSafeEqual(Buffer.from(received.toLowerCase(), 'hex'), expected);
}

/** Why a signed webhook request was refused; each maps to a 401 answer. */
export type SignedRequestRefusal = 'missing-signature' | 'bad-signature' | 'missing-timestamp' | 'bad-timestamp' | 'stale-timestamp';

export interface SignedRequest {
	rawBody: Buffer;
	secret: string;
	/** The signature header: `sha256=<hex>` (or bare hex). */
	signature: string | undefined;
	/** The timestamp header: Unix epoch seconds. */
	timestamp: string | undefined;
	requireTimestamp: boolean;
	/** How far (seconds, either way) the timestamp may be from `nowMs`. */
	toleranceSec: number;
	nowMs: number;
}

/**
 * HMAC-SHA256 over the raw body, or over `<timestamp>.<rawBody>` when a timestamp header is sent, so a
 * captured request cannot be replayed with a fresh timestamp. Returns null when the request is genuine.
 */
export function verifySignedRequest(request: SignedRequest): SignedRequestRefusal | null {
	if (!request.signature) return 'missing-signature';
	const timestamp = request.timestamp?.trim();
	if (!timestamp) {
		if (request.requireTimestamp) return 'missing-timestamp';
		return hmacSha256Matches(request.rawBody, request.secret, request.signature) ? null : 'bad-signature';
	}
	// Epoch seconds only: a millisecond value would otherwise read as a date thousands of years ahead.
	if (!/^\d{1,11}$/.test(timestamp)) return 'bad-timestamp';
	const skewSec = Math.abs(request.nowMs / 1000 - Number(timestamp));
	if (!(skewSec <= Math.max(1, request.toleranceSec))) return 'stale-timestamp';
	const signed = Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), request.rawBody]);
	return hmacSha256Matches(signed, request.secret, request.signature) ? null : 'bad-signature';
}
