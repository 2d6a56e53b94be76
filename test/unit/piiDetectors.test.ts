import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

import {
	buildLines,
	cardBrand,
	compileCustomPatterns,
	detectInText,
	detectPii,
	luhnValid,
	maskValue,
	PatternError,
	suspectLines,
	type CustomPattern,
	type DetectorOptions,
	type OcrWord,
	type PiiType,
} from '../../nodes/shared/pii/detectors';

const US: DetectorOptions = { phoneRegion: 'US' };

/** Words of one line, each character `charWidth` wide, one space between words. */
function lineWords(
	text: string,
	at: {
		x: number;
		y: number;
		charWidth?: number;
		height?: number;
		confidence?: number;
		lineId?: string;
	},
): OcrWord[] {
	const charWidth = at.charWidth ?? 10;
	const height = at.height ?? 20;
	const words: OcrWord[] = [];
	let x = at.x;
	for (const part of text.split(' ')) {
		if (part) {
			words.push({
				text: part,
				confidence: at.confidence ?? 92,
				box: { x0: x, y0: at.y, x1: x + part.length * charWidth, y1: at.y + height },
				...(at.lineId ? { lineId: at.lineId } : {}),
			});
		}
		x += (part.length + 1) * charWidth;
	}
	return words;
}

function typesIn(text: string, options: DetectorOptions = US): PiiType[] {
	return detectInText(text, options).map((finding) => finding.type);
}

function only(text: string, type: PiiType, options: DetectorOptions = US) {
	const findings = detectInText(text, options).filter((finding) => finding.type === type);
	expect(findings).toHaveLength(1);
	return findings[0];
}

describe('luhnValid and cardBrand', () => {
	it('accepts Luhn-valid numbers and rejects a changed digit or non-digits', () => {
		expect(luhnValid('4111111111111111')).toBe(true);
		expect(luhnValid('378282246310005')).toBe(true);
		expect(luhnValid('4111111111111112')).toBe(false);
		expect(luhnValid('4111 1111 1111 1111')).toBe(false);
		expect(luhnValid('')).toBe(false);
	});

	it.each([
		['4111111111111111', 'visa'],
		['4222222222222', 'visa'],
		['5555555555554444', 'mastercard'],
		['2221000000000009', 'mastercard'],
		['378282246310005', 'amex'],
		['6011111111111117', 'discover'],
		['6445644564456445', 'discover'],
		['3530111333300000', 'jcb'],
		['30569309025904', 'diners'],
		['6200000000000005', 'unionpay'],
		['5018000000000009', 'maestro'],
	])('%s is %s', (digits, brand) => {
		expect(cardBrand(digits)).toBe(brand);
	});

	it('needs the brand length: Amex has 15 digits, Mastercard 16, Maestro at least 16', () => {
		expect(cardBrand('3782822463100051')).toBeUndefined();
		expect(cardBrand('555555555555444')).toBeUndefined();
		expect(cardBrand('501800000000009')).toBeUndefined();
		expect(cardBrand('1234567812345670')).toBeUndefined();
	});
});

describe('payment cards', () => {
	it.each([
		['4111 1111 1111 1111', '**** **** **** 1111'],
		['4111111111111111', '**** **** **** 1111'],
		['4111-1111-1111-1111', '**** **** **** 1111'],
		['411111111111 1111', '**** **** **** 1111'],
		['4111 11111111 1111', '**** **** **** 1111'],
		['3782 822463 10005', '*** **** **** 0005'],
		['5555 5555 5555 4444', '**** **** **** 4444'],
		['2221 0000 0000 0009', '**** **** **** 0009'],
		['6011 1111 1111 1117', '**** **** **** 1117'],
		['3530 1113 3330 0000', '**** **** **** 0000'],
		['41l1 1111 1111 1111', '**** **** **** 1111'],
		['4111 1111 1111 111l', '**** **** **** 1111'],
	])('finds %s', (text, masked) => {
		expect(only(`Paid with ${text} today`, 'payment_card').masked).toBe(masked);
	});

	it('keeps an OCR-corrected card below the uncorrected one', () => {
		const clean = only('4111 1111 1111 1111', 'payment_card').confidence;
		const corrected = only('4111 1111 1111 11l1', 'payment_card').confidence;
		expect(corrected).toBeLessThan(clean);
	});

	it.each([
		['Luhn-invalid', '4111 1111 1111 1112'],
		['Luhn-invalid, OCR-split', '411111111111 1112'],
		['masked with stars', '**** **** **** 1111'],
		['masked with X', 'XXXX-XXXX-XXXX-1111'],
		['order id', 'ORD-2024-118842'],
		['invoice id', 'INV-20250314-0001'],
		['card digits inside an id', 'REF-4111111111111111'],
		['card digits glued to letters', 'TX4111111111111111'],
		['Luhn-valid without a known IIN', '1234 5678 1234 5670'],
		['Amex prefix with 16 digits', '3782 8224 6310 0051'],
		['too many letters to be OCR noise', '4lll 1111 1111 1111'],
		['decimal', '0.4111111111111111'],
	])('ignores %s: %s', (_why, text) => {
		expect(typesIn(`Value ${text} end`)).toEqual([]);
	});

	it('finds two cards in one digit run and a card next to other numbers', () => {
		const findings = detectInText('4111 1111 1111 1111 5555 5555 5555 4444', US);
		expect(findings.map((f) => f.masked)).toEqual(['**** **** **** 1111', '**** **** **** 4444']);
		expect(only('Qty 2 4111 1111 1111 1111', 'payment_card')).toMatchObject({ start: 6, end: 25 });
	});
});

describe('US SSN', () => {
	it.each(['123-45-6789', '123 45 6789', '078-05-1120', '899-99-9999'])('finds %s', (text) => {
		expect(only(`Customer ${text} on file`, 'us_ssn').masked).toBe(`***-**-${text.slice(-4)}`);
	});

	it.each([
		['area 000', '000-12-3456'],
		['area 666', '666-12-3456'],
		['area 9xx', '900-12-3456'],
		['area 999', '999-12-3456'],
		['group 00', '123-00-4567'],
		['serial 0000', '123-45-0000'],
		['mixed separators', '123-45 6789'],
		['longer dashed number', '123-45-6789-01'],
		['date', '2025-03-14'],
		['date US', '03/14/2025'],
		['phone', '415-555-0132'],
		['phone fragment', '555-0132'],
		['spaced digits inside a longer run', '12 123 45 6789'],
	])('ignores %s: %s', (_why, text) => {
		expect(typesIn(`Value ${text} end`)).not.toContain('us_ssn');
	});

	it('accepts a 9-digit run only next to an SSN label', () => {
		expect(typesIn('Reference 123456789')).toEqual([]);
		expect(only('SSN: 123456789', 'us_ssn')).toMatchObject({
			masked: '***-**-6789',
			labelled: true,
		});
		expect(only('Social Security Number\n123456789', 'us_ssn').labelled).toBe(true);
		expect(typesIn('SSN: 666123456')).toEqual([]);
	});
});

describe('e-mail', () => {
	it.each([
		['j.doe.work@example.org', 'j***@example.org'],
		['jane_doe+cx@mail.example.co.uk', 'j***@mail.example.co.uk'],
		['JOHN.SMITH@EXAMPLE.COM', 'J***@EXAMPLE.COM'],
		['ab@example.com', '***@example.com'],
	])('finds %s', (text, masked) => {
		expect(only(`Contact: ${text}.`, 'email').masked).toBe(masked);
	});

	it('strips | box borders from the value', () => {
		const finding = only('|jane.doe@example.com|', 'email');
		expect(finding).toMatchObject({ start: 1, end: 21, masked: 'j***@example.com' });
		expect(only('| jane.doe@example.com |', 'email')).toMatchObject({ start: 2, end: 22 });
	});

	it('rejoins the spaces OCR reads around dots and the @, only before a common top-level domain', () => {
		expect(only('Email: jane.doe@example. com', 'email')).toMatchObject({ start: 7, end: 28, masked: 'j***@example.com' });
		expect(only('ANNA. KOWALSKI@EXAMPLE. COM', 'email').masked).toBe('A***@EXAMPLE.COM');
		expect(only('Email ANNA . KOWALSKI@EXAMPLE . COM', 'email')).toMatchObject({ start: 6, end: 35, masked: 'A***@EXAMPLE.COM' });
		expect(only('li.wei_88 @ example . net', 'email').masked).toBe('l***@example.net');
		expect(typesIn('Write to support@example. Thanks for calling')).toEqual([]);
	});

	it('ignores addresses without a domain suffix and handles', () => {
		expect(typesIn('user@localhost and @handle and a@b')).toEqual([]);
	});
});

describe('phone', () => {
	it('libphonenumber-js reports the 555-01xx test numbers as valid', () => {
		expect(parsePhoneNumberFromString('415-555-0132', 'US')?.isValid()).toBe(true);
		expect(parsePhoneNumberFromString('212-555-0199', 'US')?.isValid()).toBe(true);
	});

	it.each([
		['+1 415-555-0132', '+1 415-***-**32'],
		['(212) 555-0199', '+1 212-***-**99'],
		['415.555.0147', '+1 415-***-**47'],
		['415 555 0132', '+1 415-***-**32'],
		['1-800-555-0199', '+1 800-***-**99'],
		['+44 20 7946 0958', '+44 ** **** **58'],
	])('finds %s', (text, masked) => {
		expect(only(`Callback ${text} please`, 'phone').masked).toBe(masked);
	});

	it('uses the default region from the options', () => {
		expect(only('Tel 020 7946 0958', 'phone', { phoneRegion: 'GB' }).masked).toBe(
			'+44 ** **** **58',
		);
		expect(typesIn('Tel 020 7946 0958', { phoneRegion: 'US' })).toEqual([]);
	});

	it.each([
		['ticket id', 'TCK-555-0199'],
		['date', '03/14/2025'],
		['amount', '$1,249.00'],
		['order id', 'ORD-2024-118842'],
		['invoice id', 'INV-20250314-0001'],
		['Luhn-invalid card', '4111 1111 1111 1112'],
		['IBAN', 'DE89 3704 0044 0532 0130 00'],
		['SSN', '123-45-6789'],
		['time and expiry', '10:32:15 12/29'],
		['zip-like case number', 'Case 94107-1234'],
	])('does not fire on %s: %s', (_why, text) => {
		expect(typesIn(`Value ${text} end`)).not.toContain('phone');
	});

	it('rejects an unsupported region', () => {
		expect(() => detectInText('x', { phoneRegion: 'XX' })).toThrow(/phoneRegion "XX"/);
	});
});

describe('IBAN', () => {
	it.each([
		['DE89 3704 0044 0532 0130 00', 'DE89 **** **** **** **30 00'],
		['DE89370400440532013000', 'DE89 **** **** **** **30 00'],
		['GB82 WEST 1234 5698 7654 32', 'GB82 **** **** **** **54 32'],
		['FR14 2004 1010 0505 0001 3M02 606', 'FR14 **** **** **** **** ***2 606'],
		['NL91 ABNA 0417 1643 00', 'NL91 **** **** **43 00'],
		['NL91ABNA0417164300', 'NL91 **** **** **43 00'],
	])('finds %s', (text, masked) => {
		expect(only(`Pay to ${text} BANK`, 'iban').masked).toBe(masked);
	});

	it.each([
		'DE89 3704 0044 0532 0130 01',
		'GB82 WEST 1234 5698 7654 33',
		'FR14 2004 1010 0505 0001 3M02 607',
		'NL91 ABNA 0417 1643 01',
		'DE88370400440532013000',
	])('ignores %s (one character changed)', (text) => {
		expect(typesIn(`Pay to ${text}`)).toEqual([]);
	});

	it('takes the letter O or I that OCR read for a digit as 0 or 1 when exactly one reading passes mod-97', () => {
		const finding = only('IBAN FR14 2004 1010 0505 0001 3MO2 606', 'iban');
		expect(finding.masked).toBe('FR14 **** **** **** **** ***2 606');
		// Lower confidence than a clean read of the same value (0.85 + 0.2 label).
		expect(finding.confidence).toBeCloseTo(0.97, 2);
		expect(only('IBAN FR14 2004 1010 0505 0001 3M02 606', 'iban').confidence).toBeCloseTo(0.99, 5);
		// No reading passes: nothing.
		expect(typesIn('Pay to DE89 37O4 0044 0532 0130 01')).toEqual([]);
	});
});

describe('suspectLines', () => {
	const boxOf = (words: OcrWord[]) => ({
		x0: Math.min(...words.map((word) => word.box.x0)),
		y0: Math.min(...words.map((word) => word.box.y0)),
		x1: Math.max(...words.map((word) => word.box.x1)),
		y1: Math.max(...words.map((word) => word.box.y1)),
	});

	it('names the value next to a label that gave no finding of its type, and lines with an @ or a long number', () => {
		const label = lineWords('Email', { x: 100, y: 100, lineId: 'a' });
		const misread = lineWords('ANNA. KOWALSKIGEXAMPLE . COM', { x: 200, y: 100, lineId: 'b' });
		const unlabelled = lineWords('ref 219 09 99990', { x: 100, y: 200, lineId: 'c' });
		const words = [...label, ...misread, ...unlabelled];
		const findings = detectPii(words, US);
		expect(findings).toEqual([]);
		expect(suspectLines(words, findings, US)).toEqual([boxOf(misread), boxOf(unlabelled)]);
	});

	it('leaves alone lines with a finding, ids, dates, amounts, short values next to card labels, and lines not just read', () => {
		const card = lineWords('Card number 4111 1111 1111 1111', { x: 100, y: 100, lineId: 'a' });
		const expiry = [...lineWords('Expiry', { x: 100, y: 140, lineId: 'b' }), ...lineWords('09/28', { x: 200, y: 140, lineId: 'c' })];
		const order = lineWords('Order ORD-2025-004417 of 03/14/2025 $1,249.00', { x: 100, y: 180, lineId: 'd' });
		const words = [...card, ...expiry, ...order];
		const findings = detectPii(words, US);
		expect(findings.map((finding) => finding.type)).toEqual(['payment_card']);
		expect(suspectLines(words, findings, US)).toEqual([]);
		const email = lineWords('Email jane.doe@example', { x: 100, y: 300, lineId: 'e' });
		const all = [...words, ...email];
		expect(suspectLines(all, detectPii(all, US), US)).toEqual([boxOf(email)]);
		// Only lines holding a word just read count.
		expect(suspectLines(all, detectPii(all, US), US, new Set([0, 1]))).toEqual([]);
	});
});

describe('compileCustomPatterns', () => {
	it('compiles a named pattern that detectPii and detectInText run', () => {
		const patterns: CustomPattern[] = [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }];
		const [compiled] = compileCustomPatterns(patterns);
		expect(compiled.name).toBe('employee_id');
		expect(compiled.regex.flags).toBe('g');

		const inText = detectInText('Agent EMP-123456 and EMP-654321', {
			...US,
			customPatterns: patterns,
		});
		expect(inText.map((f) => [f.type, f.name, f.start, f.end, f.masked])).toEqual([
			['custom', 'employee_id', 6, 16, '***-****56'],
			['custom', 'employee_id', 21, 31, '***-****21'],
		]);
		// The name doubles as a label.
		expect(
			detectInText('Employee ID EMP-123456', { ...US, customPatterns: patterns })[0].labelled,
		).toBe(true);

		const words = lineWords('Employee ID: EMP-123456', { x: 0, y: 0 });
		const findings = detectPii(words, { ...US, compiledPatterns: [compiled] });
		expect(findings).toHaveLength(1);
		expect(findings[0]).toMatchObject({
			type: 'custom',
			name: 'employee_id',
			box: [130, 0, 100, 20],
		});
	});

	it('finds whole matches across the scan windows of a long line', () => {
		const ids = [985, 1790, 2590].map((at, n) => ({
			at,
			id: `K${String(n + 1).repeat(30)}`,
		}));
		const chars = Array.from({ length: 3000 }, () => 'x');
		for (const { at, id } of ids) chars.splice(at, id.length + 2, ' ', ...id, ' ');
		const text = chars.join('').slice(0, 3000);
		const findings = detectInText(text, {
			...US,
			customPatterns: [{ name: 'k', pattern: 'K\\d+' }],
		});
		expect(findings.map((f) => [f.start, f.end - f.start])).toEqual(
			ids.map(({ at }) => [at + 1, 31]),
		);
	});

	it('accepts the i flag and is off when custom is not an enabled type', () => {
		const patterns = [{ name: 'badge', pattern: 'badge-\\d{4}', flags: 'i' }];
		expect(typesIn('BADGE-1234', { ...US, customPatterns: patterns })).toEqual(['custom']);
		expect(typesIn('BADGE-1234', { ...US, customPatterns: patterns, types: ['email'] })).toEqual(
			[],
		);
	});

	it.each<[string, CustomPattern[], string, RegExp]>([
		['empty name', [{ name: '  ', pattern: 'x' }], '#1', /name is empty/],
		[
			'duplicate name',
			[
				{ name: 'emp', pattern: 'a' },
				{ name: 'EMP', pattern: 'b' },
			],
			'EMP',
			/used twice/,
		],
		[
			'invalid syntax',
			[{ name: 'broken', pattern: '(EMP-\\d+' }],
			'broken',
			/invalid regular expression/,
		],
		['too long', [{ name: 'long_one', pattern: 'a'.repeat(201) }], 'long_one', /longer than 200/],
		['flag g', [{ name: 'flagged', pattern: 'a', flags: 'g' }], 'flagged', /only the flag "i"/],
		['flag m', [{ name: 'multi', pattern: 'a', flags: 'im' }], 'multi', /only the flag "i"/],
		['empty match', [{ name: 'optional', pattern: '\\d*' }], 'optional', /empty string/],
		[
			'empty match by alternation',
			[{ name: 'alt_empty', pattern: 'a|' }],
			'alt_empty',
			/empty string/,
		],
		['lookahead only', [{ name: 'look', pattern: '(?=a)' }], 'look', /empty string/],
		['nested quantifier', [{ name: 'nested', pattern: '(a+)+b' }], 'nested', /nested quantifier/],
		['nested star', [{ name: 'star', pattern: '(.*)*x' }], 'star', /nested quantifier/],
		[
			'nested in counted repeat',
			[{ name: 'words', pattern: '(?:\\w+\\s?){2,}' }],
			'words',
			/nested quantifier/,
		],
		[
			'unbounded inside bounded',
			[{ name: 'bounded', pattern: '(a+){2,9}' }],
			'bounded',
			/nested quantifier/,
		],
		[
			'variable inside unbounded',
			[{ name: 'variable', pattern: '(?:a{1,2})+' }],
			'variable',
			/nested quantifier/,
		],
		['alternation under repeat', [{ name: 'alt', pattern: '(a|ab)*c' }], 'alt', /alternation/],
	])('rejects %s and names the pattern', (_why, patterns, name, reason) => {
		let error: unknown;
		try {
			compileCustomPatterns(patterns);
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(PatternError);
		const patternError = error as PatternError;
		expect(patternError.patternName).toBe(name);
		expect(patternError.message).toContain(name);
		expect(patternError.message).toMatch(reason);
	});

	it('allows bounded, non-nested repeats and optional groups', () => {
		expect(() =>
			compileCustomPatterns([
				{ name: 'a', pattern: 'EMP-(?:\\d{2}){3}' },
				{ name: 'b', pattern: '(?<prefix>AGT)-\\d+(-[A-Z])?' },
				{ name: 'c', pattern: '[(+]\\d+[)]' },
				{ name: 'd', pattern: '(?:[A-Z]\\d)+-(\\d+)?x' },
				{ name: 'e', pattern: '\\((?:\\d{3})\\)[(|]+' },
			]),
		).not.toThrow();
	});
});

describe('buildLines', () => {
	it('groups by lineId and orders words left to right with a char → word map', () => {
		const words: OcrWord[] = [
			{ text: 'World', confidence: 90, box: { x0: 70, y0: 0, x1: 120, y1: 20 }, lineId: 'L1' },
			{ text: 'Below', confidence: 90, box: { x0: 0, y0: 30, x1: 50, y1: 50 }, lineId: 'L2' },
			{ text: 'Hello', confidence: 90, box: { x0: 0, y0: 0, x1: 50, y1: 20 }, lineId: 'L1' },
		];
		const lines = buildLines(words);
		expect(lines.map((line) => line.text)).toEqual(['Hello World', 'Below']);
		expect(lines[0].wordIndexes).toEqual([2, 0]);
		expect(Array.from(lines[0].charToWord)).toEqual([2, 2, 2, 2, 2, -1, 0, 0, 0, 0, 0]);
		expect(lines[0].box).toEqual({ x0: 0, y0: 0, x1: 120, y1: 20 });
	});

	it('clusters words without lineId by vertical overlap and splits columns with a wider gap', () => {
		const words: OcrWord[] = [
			{ text: 'b', confidence: 90, box: { x0: 30, y0: 2, x1: 40, y1: 22 } },
			{ text: 'c', confidence: 90, box: { x0: 0, y0: 28, x1: 10, y1: 48 } },
			{ text: 'a', confidence: 90, box: { x0: 0, y0: 0, x1: 10, y1: 20 } },
			{ text: 'far', confidence: 90, box: { x0: 400, y0: 1, x1: 430, y1: 21 } },
			{ text: '  ', confidence: 90, box: { x0: 0, y0: 0, x1: 5, y1: 5 } },
		];
		const lines = buildLines(words);
		expect(lines.map((line) => line.text)).toEqual(['a b   far', 'c']);
	});
});

describe('detectPii on OCR words', () => {
	it('returns the union box of the words that hold a split card, on the right line', () => {
		const words = [
			...lineWords('Card Number', { x: 100, y: 100, lineId: 'a' }),
			...lineWords('411111111111 1111', { x: 100, y: 130, lineId: 'b' }),
			...lineWords('Order ORD-2024-118842', { x: 100, y: 160, lineId: 'c' }),
		];
		const findings = detectPii(words, US);
		expect(findings).toHaveLength(1);
		expect(findings[0]).toMatchObject({
			type: 'payment_card',
			masked: '**** **** **** 1111',
			box: [100, 130, 170, 20],
			labelled: true,
			confidence: 0.99,
			wordIndexes: [2, 3],
		});
	});

	it('finds values on two lines with their own boxes (words without lineId)', () => {
		const words = [
			...lineWords('Email: jane.doe@example.com', { x: 10, y: 10 }),
			...lineWords('Phone +1 415-555-0132', { x: 10, y: 40 }),
		];
		const findings = detectPii(words, US);
		expect(findings.map((f) => [f.type, f.box])).toEqual([
			['email', [80, 10, 200, 20]],
			['phone', [70, 40, 150, 20]],
		]);
	});

	it('cuts | borders out of the box of an e-mail word', () => {
		const words: OcrWord[] = [
			{ text: '|jane.doe@example.com|', confidence: 95, box: { x0: 200, y0: 50, x1: 420, y1: 70 } },
		];
		const [finding] = detectPii(words, US);
		expect(finding.type).toBe('email');
		expect(finding.box).toEqual([210, 50, 200, 20]);
	});

	it('boosts a value with a label on the same line or just above, not one above in another column', () => {
		const unlabelled = detectPii(lineWords('Value 123-45-6789', { x: 0, y: 0 }), US)[0];
		const sameLine = detectPii(lineWords('SSN 123-45-6789', { x: 0, y: 0 }), US)[0];
		const above = detectPii(
			[
				...lineWords('SSN', { x: 100, y: 0, lineId: '1' }),
				...lineWords('123-45-6789', { x: 100, y: 26, lineId: '2' }),
			],
			US,
		)[0];
		const aboveElsewhere = detectPii(
			[
				...lineWords('SSN', { x: 900, y: 0, lineId: '1' }),
				...lineWords('123-45-6789', { x: 100, y: 26, lineId: '2' }),
			],
			US,
		)[0];
		const sameRowOtherBlock = detectPii(
			[
				...lineWords('SSN:', { x: 100, y: 0, lineId: '1' }),
				...lineWords('123-45-6789', { x: 200, y: 0, lineId: '2' }),
			],
			US,
		)[0];
		expect(unlabelled).toMatchObject({ labelled: false, confidence: 0.75 });
		expect(sameLine).toMatchObject({ labelled: true, confidence: 0.95 });
		expect(above).toMatchObject({ labelled: true, confidence: 0.95 });
		expect(aboveElsewhere).toMatchObject({ labelled: false, confidence: 0.75 });
		expect(sameRowOtherBlock).toMatchObject({ labelled: true, confidence: 0.95 });
	});

	it('lowers confidence when a word holding the value has low OCR confidence', () => {
		const confident = detectPii(
			lineWords('4111 1111 1111 1111', { x: 0, y: 0, confidence: 90 }),
			US,
		)[0];
		const words = lineWords('4111 1111 1111 1111', { x: 0, y: 0, confidence: 90 });
		words[2].confidence = 30;
		const weak = detectPii(words, US)[0];
		const labelWeak = [
			{ ...lineWords('Card', { x: 0, y: 0, confidence: 10 })[0] },
			...lineWords('4111 1111 1111 1111', { x: 50, y: 0, confidence: 90 }),
		];
		expect(confident.confidence).toBe(0.8);
		expect(weak.confidence).toBe(0.4);
		// Only the words holding the value count, not the label.
		expect(detectPii(labelWeak, US)[0].confidence).toBe(0.99);
	});

	it('honours the enabled types', () => {
		const words = lineWords('j@example.com 4111 1111 1111 1111 123-45-6789', { x: 0, y: 0 });
		expect(detectPii(words, { ...US, types: ['us_ssn'] }).map((f) => f.type)).toEqual(['us_ssn']);
		expect(detectPii(words, US).map((f) => f.type)).toEqual(['email', 'payment_card', 'us_ssn']);
		// A disabled card still claims its digits: they do not come back as something else.
		expect(detectPii(words, { ...US, types: ['phone'] })).toEqual([]);
	});

	it('never puts a raw value in a finding', () => {
		const text =
			'Card 4111 1111 1111 1111 SSN 123-45-6789 Email jane.doe@example.com Phone 415-555-0132 IBAN DE89 3704 0044 0532 0130 00';
		const findings = detectPii(lineWords(text, { x: 0, y: 0 }), US);
		expect(findings.map((f) => f.type)).toEqual([
			'payment_card',
			'us_ssn',
			'email',
			'phone',
			'iban',
		]);
		const serialized = JSON.stringify(findings);
		for (const raw of [
			'4111111111111111',
			'4111 1111 1111',
			'123-45',
			'12345',
			'jane.doe',
			'555-0132',
			'5550132',
			'3704',
			'0532',
		]) {
			expect(serialized).not.toContain(raw);
		}
	});
});

describe('maskValue never leaks more than it should', () => {
	const digitsOf = (text: string) => text.replace(/\D/g, '');

	it('card: only the last 4 digits', () => {
		for (const card of [
			'4111 1111 1111 1111',
			'378282246310005',
			'6011-1111-1111-1117',
			'4222222222222',
		]) {
			const masked = maskValue('payment_card', card);
			expect(digitsOf(masked)).toBe(digitsOf(card).slice(-4));
			expect(masked.replace(/\s/g, '')).toHaveLength(digitsOf(card).length);
		}
	});

	it('SSN: only the last 4 digits', () => {
		expect(maskValue('us_ssn', '123-45-6789')).toBe('***-**-6789');
		expect(maskValue('us_ssn', '123456789')).toBe('***-**-6789');
	});

	it('e-mail: the domain and at most the first character', () => {
		const masked = maskValue('email', 'jane.doe@example.com');
		expect(masked).toBe('j***@example.com');
		expect(masked).not.toMatch(/ane|doe/);
	});

	it('phone: country code, area code and the last 2 digits', () => {
		const masked = maskValue('phone', '(415) 555-0132');
		expect(masked).toBe('+1 415-***-**32');
		expect(digitsOf(masked)).toBe('1' + '415' + '32');
		expect(digitsOf(maskValue('phone', '+44 20 7946 0958'))).toBe('44' + '58');
	});

	it('IBAN: country, check digits and the last 4 characters', () => {
		const masked = maskValue('iban', 'GB82 WEST 1234 5698 7654 32');
		expect(masked).toBe('GB82 **** **** **** **54 32');
		expect(masked.replace(/[\s*]/g, '')).toBe('GB825432');
	});

	it('custom: at most the last 2 characters', () => {
		expect(maskValue('custom', 'EMP-123456')).toBe('***-****56');
		expect(maskValue('custom', 'AB12')).toBe('****');
	});
});

describe('detectInText on reference-like OCR output', () => {
	const lines: Array<[string, Array<[PiiType, string]>]> = [
		['Card Number 411111111111 1111', [['payment_card', '**** **** **** 1111']]],
		['| Card Number | 4111 1111 1111 1111 |', [['payment_card', '**** **** **** 1111']]],
		['Note Email: j.doe.work@example.org', [['email', 'j***@example.org']]],
		['Email |jane.doe@example.com|', [['email', 'j***@example.com']]],
		['SSN 123-45-6789 DOB 04/12/1985', [['us_ssn', '***-**-6789']]],
		['Phone +1 415-555-0132', [['phone', '+1 415-***-**32']]],
		['Alt phone (212) 555-0199 ext 12', [['phone', '+1 212-***-**99']]],
		['Callback 415.555.0147', [['phone', '+1 415-***-**47']]],
		['IBAN DE89 3704 0044 0532 0130 00', [['iban', 'DE89 **** **** **** **30 00']]],
		['IBAN GB82 WEST 1234 5698 7654 32', [['iban', 'GB82 **** **** **** **54 32']]],
		['Test card 4111 1111 1111 1112 (declined)', []],
		['Stored card **** **** **** 1111 Exp 12/29', []],
		['Order ORD-2024-118842 Invoice INV-20250314-0001', []],
		['Ticket TCK-555-0199 opened 03/14/2025 10:32', []],
		['Amount $1,249.00 Case 94107', []],
		['Acme Contact Center   Payments   Customer Details', []],
		[
			'Card Number 5555555555554444   Email: a.b@example.net',
			[
				['payment_card', '**** **** **** 4444'],
				['email', 'a***@example.net'],
			],
		],
	];

	it.each(lines)('%s', (text, expected) => {
		const findings = detectInText(text, US);
		expect(findings.map((f) => [f.type, f.masked])).toEqual(expected);
		for (const finding of findings) expect(finding.labelled).toBe(true);
	});
});

describe('performance', () => {
	it('scans 10 000 characters full of numbers correctly', () => {
		const rows: string[] = [];
		let length = 0;
		let row = 0;
		while (length < 10_000) {
			const line =
				`Row ${row} ORD-2024-${100000 + row} TCK-555-${String(1000 + row).slice(-4)} $${row},249.00 03/14/2025 ` +
				`4111 1111 1111 1112 Phone 415-555-${String(100 + (row % 900)).padStart(4, '0')} ` +
				`card 4111 1111 1111 1111 SSN 123-45-${String(1000 + row).slice(-4)}`;
			rows.push(line);
			length += line.length + 1;
			row++;
		}
		const text = rows.join('\n').slice(0, 10_000);
		const complete = text.split('\n').length - 1;
		detectInText(text.slice(0, 500), US);
		const started = performance.now();
		const findings = detectInText(text, US);
		const elapsed = performance.now() - started;
		process.stdout.write(`detectInText on ${text.length} characters: ${elapsed.toFixed(1)} ms\n`);

		const count = (type: PiiType) =>
			findings.filter((f) => f.type === type && text.indexOf('\n', f.start) !== -1).length;
		expect(count('phone')).toBe(complete);
		expect(count('payment_card')).toBe(complete);
		expect(count('us_ssn')).toBe(complete);
		expect(findings.some((f) => f.type === 'iban' || f.type === 'email')).toBe(false);
		expect(findings.every((f) => !/\d{5}/.test(f.masked.replace(/[\s-]/g, '')))).toBe(true);
	});

	it('scans a 10 000-character single line with a custom pattern', () => {
		const text = 'EMP-123456 '.repeat(910).slice(0, 10_000);
		const started = performance.now();
		const findings = detectInText(text, {
			...US,
			customPatterns: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }],
		});
		const elapsed = performance.now() - started;
		process.stdout.write(`single 10 000-character line: ${elapsed.toFixed(1)} ms\n`);
		expect(findings).toHaveLength(909);
	});
});
