import { assertSafeId, CX_TRAINING_NAMESPACE, InvalidIdError, isSafeId, uuidV5 } from '../../nodes/shared/ids';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

describe('uuidV5', () => {
	it('matches the RFC 4122 test vector for www.example.com in the DNS namespace', () => {
		expect(uuidV5('www.example.com', DNS_NAMESPACE)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
	});

	it('accepts the namespace in upper case or without dashes and gives the same id', () => {
		const expected = '2ed6657d-e927-568b-95e1-2665a8aea6a2';
		expect(uuidV5('www.example.com', DNS_NAMESPACE.toUpperCase())).toBe(expected);
		expect(uuidV5('www.example.com', DNS_NAMESPACE.replace(/-/g, ''))).toBe(expected);
	});

	it('is deterministic, depends on name and namespace, and sets version 5 and the RFC variant', () => {
		const a = uuidV5('genesys-cloud:conv-1:rec-1:placeholder', CX_TRAINING_NAMESPACE);
		expect(uuidV5('genesys-cloud:conv-1:rec-1:placeholder', CX_TRAINING_NAMESPACE)).toBe(a);
		expect(uuidV5('genesys-cloud:conv-1:rec-2:placeholder', CX_TRAINING_NAMESPACE)).not.toBe(a);
		expect(uuidV5('www.example.com', URL_NAMESPACE)).not.toBe(uuidV5('www.example.com', DNS_NAMESPACE));
		for (const id of [a, uuidV5('', CX_TRAINING_NAMESPACE), uuidV5('Zoë Ångström ✓', DNS_NAMESPACE)]) {
			expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		}
	});

	it('hashes the name as UTF-8', () => {
		// Same name, different Unicode normal forms: different bytes, so different ids.
		expect(uuidV5('é', DNS_NAMESPACE)).not.toBe(uuidV5('e\u0301', DNS_NAMESPACE));
		expect(uuidV5('é', DNS_NAMESPACE)).toBe(uuidV5('\u00e9', DNS_NAMESPACE));
	});

	it('refuses a namespace that is not a UUID', () => {
		expect(() => uuidV5('x', 'not-a-uuid')).toThrow('namespace must be a UUID');
		expect(() => uuidV5('x', '6ba7b810-9dad-11d1-80b4')).toThrow('namespace must be a UUID');
		expect(() => uuidV5('x', `${DNS_NAMESPACE}00`)).toThrow('namespace must be a UUID');
	});
});

describe('assertSafeId', () => {
	it('returns safe ids unchanged, up to 128 characters', () => {
		for (const id of ['a', 'conv-1', 'A.b_c-9', '2ed6657d-e927-568b-95e1-2665a8aea6a2', '...', '.hidden', 'x'.repeat(128)]) {
			expect(assertSafeId('conversationId', id)).toBe(id);
			expect(isSafeId(id)).toBe(true);
		}
	});

	it.each([
		['empty', ''],
		['dot', '.'],
		['dot-dot', '..'],
		['slash traversal', '../etc'],
		['slash', 'a/b'],
		['backslash', 'a\\b'],
		['space', 'a b'],
		['percent-encoded slash', 'a%2Fb'],
		['NUL', 'a\u0000b'],
		['newline', 'a\nb'],
		['non-ASCII letter', 'zoë'],
		['129 characters', 'x'.repeat(129)],
	])('refuses %s', (_label, value) => {
		expect(isSafeId(value)).toBe(false);
		expect(() => assertSafeId('recordingId', value)).toThrow(InvalidIdError);
	});

	it('refuses values that are not strings, naming the field and the type', () => {
		for (const [value, type] of [
			[42, 'number'],
			[undefined, 'undefined'],
			[null, 'object'],
			[['a'], 'object'],
		] as const) {
			let caught: unknown;
			try {
				assertSafeId('recordingId', value);
			} catch (error) {
				caught = error;
			}
			expect(caught).toBeInstanceOf(InvalidIdError);
			expect((caught as InvalidIdError).field).toBe('recordingId');
			expect((caught as InvalidIdError).value).toBe(value);
			expect((caught as Error).message).toMatch(/^recordingId must be 1-128 characters/);
			expect((caught as Error).message).toMatch(new RegExp(`got ${type}$`));
		}
	});

	it('quotes the offending value and cuts it after 40 characters', () => {
		expect(() => assertSafeId('conversationId', '../../etc/passwd')).toThrow(
			`conversationId must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-' (and not '.' or '..'); got "../../etc/passwd"`,
		);
		const long = `${'a'.repeat(40)}/${'b'.repeat(100)}`;
		let message = '';
		try {
			assertSafeId('conversationId', long);
		} catch (error) {
			message = (error as Error).message;
		}
		expect(message.endsWith(`got "${'a'.repeat(40)}…"`)).toBe(true);
		expect(message).not.toContain('/bbb');
	});
});
