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
