import { createHmac } from 'node:crypto';

import { hmacSha256Matches, secretsEqual } from '../../nodes/shared/security';

describe('secretsEqual', () => {
	it('is true only for the identical string', () => {
		expect(secretsEqual('s3cr3t-value', 's3cr3t-value')).toBe(true);
		expect(secretsEqual('s3cr3t-valuE', 's3cr3t-value')).toBe(false);
		expect(secretsEqual('s3cr3t-value ', 's3cr3t-value')).toBe(false);
		expect(secretsEqual('s3cr3t', 's3cr3t-value')).toBe(false);
		expect(secretsEqual('s3cr3t-value-and-more', 's3cr3t-value')).toBe(false);
		expect(secretsEqual('Zoë✓', 'Zoë✓')).toBe(true);
	});

	it('is false for a missing header or an empty configured secret', () => {
		expect(secretsEqual(undefined, 's3cr3t')).toBe(false);
		expect(secretsEqual('', 's3cr3t')).toBe(false);
		// An unset secret must never let an empty (or any) header through.
		expect(secretsEqual('', '')).toBe(false);
		expect(secretsEqual('anything', '')).toBe(false);
	});

	it('does not throw on values of different lengths (timingSafeEqual would)', () => {
		expect(() => secretsEqual('a', 'a much longer expected secret')).not.toThrow();
		expect(secretsEqual(42 as unknown as string, '42')).toBe(false);
	});
});

describe('hmacSha256Matches', () => {
	const secret = 'webhook-signing-secret';
	const body = Buffer.from(JSON.stringify({ eventBody: { conversationId: 'conv-1' } }));
	const hex = createHmac('sha256', secret).update(body).digest('hex');

	it('accepts the signature with or without the sha256= prefix, in any case, with surrounding spaces', () => {
		expect(hmacSha256Matches(body, secret, `sha256=${hex}`)).toBe(true);
		expect(hmacSha256Matches(body, secret, hex)).toBe(true);
		expect(hmacSha256Matches(body, secret, `SHA256=${hex.toUpperCase()}`)).toBe(true);
		expect(hmacSha256Matches(body, secret, `  sha256=${hex}\t`)).toBe(true);
	});

	it('refuses a signature over other bytes or with another secret', () => {
		const changed = Buffer.from(body.toString().replace('conv-1', 'conv-2'));
		expect(hmacSha256Matches(changed, secret, `sha256=${hex}`)).toBe(false);
		expect(hmacSha256Matches(body, 'other-secret', `sha256=${hex}`)).toBe(false);
		// Re-serialised JSON is not the raw body.
		const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
		expect(hmacSha256Matches(reserialised, secret, `sha256=${hex}`)).toBe(false);
		const flipped = `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
		expect(hmacSha256Matches(body, secret, flipped)).toBe(false);
	});

	it('refuses malformed, truncated, missing signatures and an empty secret without throwing', () => {
		expect(hmacSha256Matches(body, secret, undefined)).toBe(false);
		expect(hmacSha256Matches(body, secret, '')).toBe(false);
		expect(hmacSha256Matches(body, secret, 'sha256=')).toBe(false);
		expect(hmacSha256Matches(body, secret, hex.slice(0, 63))).toBe(false);
		expect(hmacSha256Matches(body, secret, `${hex}00`)).toBe(false);
		expect(hmacSha256Matches(body, secret, `sha256=${hex.slice(0, 62)}zz`)).toBe(false);
		expect(hmacSha256Matches(body, secret, `sha1=${hex}`)).toBe(false);
		expect(hmacSha256Matches(body, secret, Buffer.from(hex, 'hex').toString('base64'))).toBe(false);
		const emptySecretSig = createHmac('sha256', '').update(body).digest('hex');
		expect(hmacSha256Matches(body, '', emptySecretSig)).toBe(false);
	});

	it('signs the exact bytes, including non-UTF-8 ones', () => {
		const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
		const sig = createHmac('sha256', secret).update(binary).digest('hex');
		expect(hmacSha256Matches(binary, secret, sig)).toBe(true);
		expect(hmacSha256Matches(Buffer.from(binary.toString('utf8')), secret, sig)).toBe(false);
	});
});
