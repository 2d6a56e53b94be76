import { createHash } from 'node:crypto';

/** Ids that become object-store keys: letters, digits, dot, underscore, dash; no traversal (DESIGN.md §3). */
const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

export class InvalidIdError extends Error {
	constructor(
		readonly field: string,
		readonly value: unknown,
	) {
		super(
			`${field} must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-' (and not '.' or '..'); got ${describe(value)}`,
		);
		this.name = 'InvalidIdError';
	}
}

function describe(value: unknown): string {
	if (typeof value !== 'string') return typeof value;
	const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
	return JSON.stringify(shown);
}

export function isSafeId(value: unknown): value is string {
	return typeof value === 'string' && SAFE_ID.test(value) && value !== '.' && value !== '..';
}

/** Throws an error naming `field` unless `value` is safe to use as one segment of an object key. */
export function assertSafeId(field: string, value: unknown): string {
	if (!isSafeId(value)) throw new InvalidIdError(field, value);
	return value;
}

/** RFC 4122 version-5 UUID (SHA-1, name-based): the same name always gives the same id. */
export function uuidV5(name: string, namespace: string): string {
	const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
	if (ns.length !== 16) throw new Error('namespace must be a UUID');
	const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
	const bytes = hash.subarray(0, 16);
	bytes[6] = (bytes[6] & 0x0f) | 0x50;
	bytes[8] = (bytes[8] & 0x3f) | 0x80;
	const hex = bytes.toString('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Namespace of every deterministic id this package derives (a fixed random UUID). */
export const CX_TRAINING_NAMESPACE = '6f1d7c1e-3b0a-4c55-9a57-2d8e4f1b9c30';
