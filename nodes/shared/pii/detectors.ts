import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import {
	findPhoneNumbersInText,
	isSupportedCountry,
	type CountryCode,
} from 'libphonenumber-js/max';

import { maskPhoneParts, maskValue } from './mask';

export { maskValue } from './mask';

export type PiiType = 'payment_card' | 'us_ssn' | 'email' | 'phone' | 'iban' | 'custom';

export const PII_TYPES: readonly PiiType[] = [
	'payment_card',
	'us_ssn',
	'email',
	'phone',
	'iban',
	'custom',
];

export interface OcrBox {
	x0: number;
	y0: number;
	x1: number;
	y1: number;
}

export interface OcrWord {
	text: string;
	/** 0..100 as tesseract gives it. */
	confidence: number;
	box: OcrBox;
	/** Tesseract block/paragraph/line id when known. */
	lineId?: string;
}

export interface CustomPattern {
	name: string;
	pattern: string;
	/** Only `i` is allowed; the engine adds `g`. */
	flags?: string;
}

export interface CompiledPattern {
	name: string;
	regex: RegExp;
	/** Matches the pattern name written as a label, e.g. "Employee ID" for `employee_id`. */
	label: RegExp;
}

export interface DetectorOptions {
	/** ISO 3166 alpha-2 default region for numbers without a country code, e.g. 'US'. */
	phoneRegion: string;
	customPatterns?: CustomPattern[];
	/** Output of compileCustomPatterns; used instead of customPatterns when given. */
	compiledPatterns?: CompiledPattern[];
	/** Enabled types; default all. */
	types?: PiiType[];
}

export interface Finding {
	type: PiiType;
	/** Custom pattern name. */
	name?: string;
	/** Masked value, never the raw one. */
	masked: string;
	/** Union of the words (or word parts) that hold the value. */
	box: [x: number, y: number, w: number, h: number];
	/** 0..1 */
	confidence: number;
	/** A label for this type was on the same line to the left or on the line just above. */
	labelled: boolean;
	/** Indexes into the input words. */
	wordIndexes: number[];
}

export interface TextFinding {
	type: PiiType;
	name?: string;
	start: number;
	end: number;
	masked: string;
	confidence: number;
	labelled: boolean;
}

export interface Line {
	id: string;
	/** Words joined by one space, or three at a column gap. */
	text: string;
	/** Indexes into the input words, left to right. */
	wordIndexes: number[];
	/** Char offset of each word of `wordIndexes` in `text`. */
	wordStarts: number[];
	/** Char offset → input word index, -1 for separators. */
	charToWord: Int32Array;
	box: OcrBox;
}

export class PatternError extends Error {
	constructor(
		/** The pattern's name, or `#<position>` when the name is empty. */
		readonly patternName: string,
		readonly field: 'name' | 'pattern' | 'flags',
		readonly reason: string,
	) {
		super(
			`Custom pattern ${patternName.startsWith('#') ? patternName : JSON.stringify(patternName)}: ${reason}`,
		);
		this.name = 'PatternError';
	}
}

// Confidence: a checksum or structural match starts at BASE_CONFIDENCE; a label near it adds
// LABEL_BOOST (e.g. SSN 0.75 → 0.95), capped at 0.99. An OCR digit correction (O→0, l/I→1) multiplies
// by 0.9. When the weakest word holding the value has OCR confidence below 60, the result is
// multiplied by max(0.25, confidence / 60), so a word at 30 halves it.
const BASE_CONFIDENCE: Record<PiiType, number> = {
	payment_card: 0.8,
	us_ssn: 0.75,
	email: 0.8,
	phone: 0.7,
	iban: 0.85,
	custom: 0.7,
};
const BARE_SSN_BASE = 0.6;
const LABEL_BOOST = 0.2;
const MAX_CONFIDENCE = 0.99;
const CORRECTION_FACTOR = 0.9;
const LOW_OCR_CONFIDENCE = 60;
const MIN_OCR_FACTOR = 0.25;

/** A label counts when it ends at most this many characters before the value on the same line. */
const LABEL_DISTANCE_CHARS = 40;
/** Words further apart than this many line heights are in different columns. */
const COLUMN_GAP_LINE_HEIGHTS = 2;
const COLUMN_SEPARATOR = '   ';
/** A label in another block of the same row counts up to this many line heights left of the value. */
const SAME_ROW_LABEL_HEIGHTS = 12;

const CUSTOM_PATTERN_MAX_LENGTH = 200;
/** Custom patterns run on windows of at most this many characters (overlapping), a backtracking cap. */
const CUSTOM_SCAN_WINDOW = 1000;
const CUSTOM_SCAN_OVERLAP = 200;

const LABELS: Record<Exclude<PiiType, 'custom'>, RegExp> = {
	payment_card:
		/\b(?:(?:credit|debit)\s*card|visa|master\s*card|amex|american\s*express|card(?:\s*(?:number|num|no\b\.?|#))?|cc\s*(?:number|no\b\.?|#)|pan|cvv2?|cvc|exp(?:iry|iration)?(?:\s*date)?)(?![a-z])/gi,
	us_ssn:
		/\b(?:ssn|social\s*security(?:\s*(?:number|no))?|tax(?:payer)?\s*id|tin|ss\s*#)(?![a-z])/gi,
	email: /\b(?:e-?\s?mail(?:\s*address)?|mail)(?![a-z])/gi,
	phone: /\b(?:phone|tel(?:ephone)?|mobile|cell|fax|callback|contact\s*(?:number|no))(?![a-z])/gi,
	iban: /\b(?:iban|bank\s*account|account\s*(?:number|no)|acct)(?![a-z])/gi,
};
const ANY_LABEL_WORD =
	/^(?:card|cc|pan|cvv2?|cvc|exp|expiry|ssn|tin|ss|email|e-?mail|mail|phone|tel|telephone|mobile|cell|fax|iban|acct|account)$/i;

/** An address up to the dot before its top-level domain. */
const EMAIL_BEFORE_TLD =
	/(?<![A-Za-z0-9._%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\./
		.source;
const EMAIL_RE = new RegExp(`${EMAIL_BEFORE_TLD}[A-Za-z]{2,24}(?![A-Za-z0-9-])`, 'g');
// OCR often reads spaces around the dots (and the @) of an address at small sizes ("example. com",
// "anna . kowalski@example . com"); rejoined only before a common top-level domain, so "support@example. Thanks"
// stays text.
const EMAIL_PART = '[A-Za-z0-9_%+-]+';
const EMAIL_SPACED_RE = new RegExp(
	`(?<![A-Za-z0-9._%+-])${EMAIL_PART}(?: ?\\. ?${EMAIL_PART})* ?@ ?[A-Za-z0-9-]+(?: ?\\. ?[A-Za-z0-9-]+)* ?\\. ?(?:com|org|net|edu|gov|mil|int|info|biz|io|co|uk|us|ca|au|de|fr|nl|be|es|it|ch|at|se|no|dk|fi|ie|pl|pt|br|mx|in|jp|nz|za|dev)(?![A-Za-z0-9-])`,
	'gi',
);
const IBAN_RE =
	/(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g;
const DIGIT_RUN_RE = /\d+(?:[ -]\d+)*/g;
// Spans that look like numbers but are ids, dates, amounts or times: card, SSN and phone must not overlap them.
const DECOY_RES: RegExp[] = [
	/(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-_#/][A-Za-z0-9]+)+/g,
	/(?<![\d/.-])(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2})(?!\d)/g,
	/(?<![\d/])\d{1,2}\/(?:\d{4}|\d{2})(?![\d/])/g,
	/[$€£¥]\s?\d[\d,.]*|(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?(?![\d,])|(?<![\d.,])\d{1,3}(?:\.\d{3})+,\d{2}(?!\d)/g,
	/(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)/g,
];
const ID_DECOY = DECOY_RES[0];
const OCR_DIGIT_TOKEN_RE = /^[+(]?[0-9OoIl]+(?:[-./)]+[0-9OoIl]+)*[),.:;]?$/;

interface Span {
	start: number;
	end: number;
}

interface LineMatch extends Span {
	type: PiiType;
	name?: string;
	masked: string;
	confidence: number;
	labelled: boolean;
}

type Labeller = (key: string, span: Span) => boolean;

interface Settings {
	region: CountryCode;
	enabled: Set<PiiType>;
	patterns: CompiledPattern[];
}

interface CardBrand {
	brand: string;
	ranges: Array<[from: number, to: number]>;
	lengths: number[];
}

// IIN ranges and lengths (ISO/IEC 7812 as published by the networks). Maestro is limited to 16–19
// digits: its 12–15 digit cards are rare and 13–15 digit runs starting with 5/6 are mostly account ids.
const CARD_BRANDS: CardBrand[] = [
	{ brand: 'visa', ranges: [[4, 4]], lengths: [13, 16, 19] },
	{
		brand: 'mastercard',
		ranges: [
			[51, 55],
			[2221, 2720],
		],
		lengths: [16],
	},
	{
		brand: 'amex',
		ranges: [
			[34, 34],
			[37, 37],
		],
		lengths: [15],
	},
	{
		brand: 'discover',
		ranges: [
			[6011, 6011],
			[644, 649],
			[65, 65],
		],
		lengths: [16, 17, 18, 19],
	},
	{ brand: 'jcb', ranges: [[3528, 3589]], lengths: [16, 17, 18, 19] },
	{
		brand: 'diners',
		ranges: [
			[300, 305],
			[36, 36],
			[38, 39],
		],
		lengths: [14, 15, 16, 17, 18, 19],
	},
	{ brand: 'unionpay', ranges: [[62, 62]], lengths: [16, 17, 18, 19] },
	{
		brand: 'maestro',
		ranges: [
			[50, 50],
			[56, 69],
		],
		lengths: [16, 17, 18, 19],
	},
];

/** Card network for a digit string, or undefined when no IIN range and length fit. */
export function cardBrand(digits: string): string | undefined {
	for (const { brand, ranges, lengths } of CARD_BRANDS) {
		if (!lengths.includes(digits.length)) continue;
		for (const [from, to] of ranges) {
			const width = String(from).length;
			const prefix = Number(digits.slice(0, width));
			if (prefix >= from && prefix <= to) return brand;
		}
	}
	return undefined;
}

export function luhnValid(digits: string): boolean {
	if (!/^\d{2,}$/.test(digits)) return false;
	let sum = 0;
	let double = false;
	for (let i = digits.length - 1; i >= 0; i--) {
		let d = digits.charCodeAt(i) - 48;
		if (double) {
			d *= 2;
			if (d > 9) d -= 9;
		}
		sum += d;
		double = !double;
	}
	return sum % 10 === 0;
}

/** Area 000, 666 and 900–999, group 00 and serial 0000 are never issued. */
export function ssnValid(area: string, group: string, serial: string): boolean {
	const a = Number(area);
	return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

/** Validates operator-supplied patterns and compiles each once; throws PatternError. */
export function compileCustomPatterns(patterns: CustomPattern[]): CompiledPattern[] {
	const seen = new Set<string>();
	return patterns.map((custom, index) => {
		const name = typeof custom.name === 'string' ? custom.name.trim() : '';
		const shown = name || `#${index + 1}`;
		if (!name) throw new PatternError(shown, 'name', 'name is empty');
		if (seen.has(name.toLowerCase())) throw new PatternError(shown, 'name', 'name is used twice');
		seen.add(name.toLowerCase());

		const source = typeof custom.pattern === 'string' ? custom.pattern : '';
		if (!source) throw new PatternError(shown, 'pattern', 'pattern is empty');
		if (source.length > CUSTOM_PATTERN_MAX_LENGTH) {
			throw new PatternError(
				shown,
				'pattern',
				`pattern is longer than ${CUSTOM_PATTERN_MAX_LENGTH} characters`,
			);
		}
		const flags = custom.flags ?? '';
		if (flags !== '' && flags !== 'i') {
			throw new PatternError(shown, 'flags', 'only the flag "i" is allowed');
		}

		let regex: RegExp;
		try {
			regex = new RegExp(source, `g${flags}`);
		} catch (error) {
			const message = error instanceof Error ? error.message : String(error);
			// V8 repeats the pattern ("Invalid regular expression: /…/g: Unterminated group"); keep the reason.
			const reason = message.slice(message.lastIndexOf(': ') + 2) || 'syntax error';
			throw new PatternError(shown, 'pattern', `invalid regular expression (${reason})`);
		}

		const risk = backtrackingRisk(source);
		if (risk) throw new PatternError(shown, 'pattern', risk);
		if (matchesEmpty(regex)) {
			throw new PatternError(shown, 'pattern', 'pattern can match the empty string');
		}

		return { name, regex, label: nameLabel(name) };
	});
}

function nameLabel(name: string): RegExp {
	const words = name
		.split(/[^A-Za-z0-9]+/)
		.filter(Boolean)
		.map(escapeRegExp);
	if (words.length === 0) return /(?!)/g;
	return new RegExp(`\\b${words.join('[\\s_-]*')}(?![a-z])`, 'gi');
}

function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matchesEmpty(regex: RegExp): boolean {
	for (const probe of ['', 'a', 'aA0 _-.@:/#\n9']) {
		regex.lastIndex = 0;
		let match: RegExpExecArray | null;
		while ((match = regex.exec(probe)) !== null) {
			if (match[0].length === 0) {
				regex.lastIndex = 0;
				return true;
			}
		}
	}
	regex.lastIndex = 0;
	return false;
}

/**
 * Pragmatic ReDoS guard: rejects a repeated group holding a variable-length repeat when either repeat
 * is unbounded (`(a+)+`, `(.*)*`, `(\w+\s?){2,}`, `(a{1,2})+`), and an alternation under an unbounded
 * repeat (`(a|ab)*`). Fixed counts such as `(?:\d{2}){3}` pass. Other super-linear patterns stay
 * possible; the scan window cap bounds their cost.
 */
function backtrackingRisk(source: string): string | undefined {
	interface Frame {
		variable: boolean;
		unbounded: boolean;
		alternation: boolean;
	}
	const newFrame = (): Frame => ({ variable: false, unbounded: false, alternation: false });
	const stack: Frame[] = [newFrame()];
	let i = 0;
	while (i < source.length) {
		const ch = source[i];
		if (ch === '\\') {
			i += 2;
		} else if (ch === '[') {
			i++;
			if (source[i] === '^') i++;
			while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
			i++;
		} else if (ch === '(') {
			stack.push(newFrame());
			i++;
			if (source[i] === '?') {
				const named = /^\?<[A-Za-z_$][\w$]*>/.exec(source.slice(i));
				i += named ? named[0].length : source[i + 1] === '<' ? 3 : 2;
			}
			continue;
		} else if (ch === ')') {
			const inner = stack.length > 1 ? stack.pop() : undefined;
			i++;
			if (!inner) continue;
			const quantifier = readQuantifier(source, i);
			if (quantifier) {
				const repeats = quantifier.max > 1;
				if (repeats && inner.variable && (quantifier.max === Infinity || inner.unbounded)) {
					return 'nested quantifier (a repeated group that repeats inside) can backtrack catastrophically';
				}
				if (quantifier.max === Infinity && inner.alternation) {
					return 'alternation inside an unbounded repeat can backtrack catastrophically; use a character class';
				}
				i += quantifier.length;
				if (source[i] === '?') i++;
			}
			const parent = stack[stack.length - 1];
			parent.variable ||=
				inner.variable || (quantifier !== undefined && quantifier.max > quantifier.min);
			parent.unbounded ||= inner.unbounded || quantifier?.max === Infinity;
			continue;
		} else if (ch === '|') {
			stack[stack.length - 1].alternation = true;
			i++;
			continue;
		} else {
			i++;
		}
		const quantifier = readQuantifier(source, i);
		if (quantifier) {
			const frame = stack[stack.length - 1];
			frame.variable ||= quantifier.max > quantifier.min;
			frame.unbounded ||= quantifier.max === Infinity;
			i += quantifier.length;
			if (source[i] === '?') i++;
		}
	}
	return undefined;
}

function readQuantifier(
	source: string,
	at: number,
): { min: number; max: number; length: number } | undefined {
	const ch = source[at];
	if (ch === '*') return { min: 0, max: Infinity, length: 1 };
	if (ch === '+') return { min: 1, max: Infinity, length: 1 };
	if (ch === '?') return { min: 0, max: 1, length: 1 };
	if (ch === '{') {
		const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at, at + 24));
		if (!braces) return undefined;
		const min = Number(braces[1]);
		const max = braces[2] === undefined ? min : braces[3] ? Number(braces[3]) : Infinity;
		return { min, max, length: braces[0].length };
	}
	return undefined;
}

/** Rebuilds text lines from OCR words: by lineId, else by vertical overlap; words left to right. */
export function buildLines(words: OcrWord[]): Line[] {
	const byId = new Map<string, number[]>();
	const loose: number[] = [];
	words.forEach((word, index) => {
		if (typeof word.text !== 'string' || word.text.trim() === '') return;
		if (word.lineId) {
			const group = byId.get(word.lineId);
			if (group) group.push(index);
			else byId.set(word.lineId, [index]);
		} else {
			loose.push(index);
		}
	});

	const groups: Array<{ id: string; indexes: number[] }> = [];
	for (const [id, indexes] of byId) groups.push({ id, indexes });

	const centre = (index: number) => (words[index].box.y0 + words[index].box.y1) / 2;
	loose.sort((a, b) => centre(a) - centre(b));
	const bands: Array<{ indexes: number[]; top: number; bottom: number }> = [];
	for (const index of loose) {
		const { y0, y1 } = words[index].box;
		let band: (typeof bands)[number] | undefined;
		for (let b = bands.length - 1; b >= 0 && b >= bands.length - 4; b--) {
			const candidate = bands[b];
			const overlap = Math.min(candidate.bottom, y1) - Math.max(candidate.top, y0);
			const height = Math.min(candidate.bottom - candidate.top, y1 - y0);
			if (overlap > 0 && overlap >= 0.5 * height) {
				band = candidate;
				break;
			}
		}
		if (band) {
			const n = band.indexes.push(index);
			// The band follows the members' mean top and bottom so that it does not grow into the next line.
			band.top += (y0 - band.top) / n;
			band.bottom += (y1 - band.bottom) / n;
		} else {
			bands.push({ indexes: [index], top: y0, bottom: y1 });
		}
	}
	bands.forEach((band, b) => groups.push({ id: `band-${b}`, indexes: band.indexes }));

	const lines = groups.map(({ id, indexes }) => assembleLine(words, id, indexes));
	lines.sort((a, b) => a.box.y0 - b.box.y0 || a.box.x0 - b.box.x0);
	return lines;
}

function assembleLine(words: OcrWord[], id: string, indexes: number[]): Line {
	const sorted = [...indexes].sort((a, b) => words[a].box.x0 - words[b].box.x0);
	const heights = sorted
		.map((index) => words[index].box.y1 - words[index].box.y0)
		.sort((a, b) => a - b);
	const lineHeight = Math.max(1, heights[Math.floor(heights.length / 2)]);
	const parts: string[] = [];
	const wordStarts: number[] = [];
	const box: OcrBox = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
	let length = 0;
	sorted.forEach((index, position) => {
		const word = words[index];
		if (position > 0) {
			const gap = word.box.x0 - words[sorted[position - 1]].box.x1;
			const separator = gap > COLUMN_GAP_LINE_HEIGHTS * lineHeight ? COLUMN_SEPARATOR : ' ';
			parts.push(separator);
			length += separator.length;
		}
		const text = word.text.trim();
		wordStarts.push(length);
		parts.push(text);
		length += text.length;
		box.x0 = Math.min(box.x0, word.box.x0);
		box.y0 = Math.min(box.y0, word.box.y0);
		box.x1 = Math.max(box.x1, word.box.x1);
		box.y1 = Math.max(box.y1, word.box.y1);
	});
	const charToWord = new Int32Array(length).fill(-1);
	sorted.forEach((index, position) => {
		const start = wordStarts[position];
		charToWord.fill(index, start, start + words[index].text.trim().length);
	});
	return { id, text: parts.join(''), wordIndexes: sorted, wordStarts, charToWord, box };
}

/** Runs every enabled detector on OCR words of one frame. */
export function detectPii(words: OcrWord[], options: DetectorOptions): Finding[] {
	const settings = resolveSettings(options);
	const lines = buildLines(words);
	const labelCache = new Map<number, Map<string, Span[]>>();
	const labelsOf = (lineIndex: number) => {
		let labels = labelCache.get(lineIndex);
		if (!labels) {
			labels = findLabels(lines[lineIndex].text, settings.patterns);
			labelCache.set(lineIndex, labels);
		}
		return labels;
	};

	const findings: Finding[] = [];
	lines.forEach((line, lineIndex) => {
		const labeller: Labeller = (key, span) => {
			if (labelToLeft(labelsOf(lineIndex).get(key), span.start)) return true;
			const value = spanBox(words, line, span);
			if (!value) return false;
			const height = value.y1 - value.y0;
			for (let other = 0; other < lines.length; other++) {
				if (other === lineIndex) continue;
				const near = lines[other].box;
				const sameRow = Math.min(near.y1, value.y1) - Math.max(near.y0, value.y0) >= 0.5 * height;
				const justAbove = near.y1 <= value.y0 + height * 0.25 && value.y0 - near.y1 <= 1.5 * height;
				if (!sameRow && !justAbove) continue;
				for (const label of labelsOf(other).get(key) ?? []) {
					const labelBox = spanBox(words, lines[other], label);
					if (!labelBox) continue;
					// Tesseract may put a label and its value in different blocks of the same row.
					if (
						sameRow &&
						labelBox.x1 <= value.x0 &&
						value.x0 - labelBox.x1 <= SAME_ROW_LABEL_HEIGHTS * height
					) {
						return true;
					}
					const overlapsHorizontally =
						labelBox.x0 <= value.x1 + height && labelBox.x1 >= value.x0 - height;
					if (justAbove && overlapsHorizontally) return true;
				}
			}
			return false;
		};
		for (const match of scanLine(line.text, settings, labeller)) {
			const box = spanBox(words, line, match);
			if (!box) continue;
			const wordIndexes = wordsInSpan(line, match);
			const weakest = Math.min(...wordIndexes.map((index) => words[index].confidence));
			findings.push({
				type: match.type,
				...(match.name !== undefined ? { name: match.name } : {}),
				masked: match.masked,
				box: [box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0],
				confidence: round2(match.confidence * ocrFactor(weakest)),
				labelled: match.labelled,
				wordIndexes,
			});
		}
	});
	return findings;
}

/** Digits (or letters OCR confuses with them) in one run, enough for an SSN, a phone number or a card. */
const LONG_NUMBER_RE = /[0-9OoIl](?:[ -]?[0-9OoIl]){8,}/;
const IBAN_LIKE_RE = /(?<![A-Za-z0-9])[A-Z]{2}[0-9OoIl]{2}(?: ?[A-Z0-9]){10,}/;

/**
 * Lines worth a second, larger read: OCR misreads small text (`@` as `G`, a digit too many), which the checksums
 * rightly reject, and the value is then lost. A line is suspect when it looks like a value of a type whose label
 * it carries (or whose label is left of it on the same row or just above) without a finding of that type, or
 * when it has an `@`, a run of 9 or more digits or an IBAN-like token and no finding at all. Ids, dates,
 * amounts and times do not count. `fresh` limits the result to lines holding at
 * least one of those word indexes (what was just read). Boxes are the lines' boxes in the words' pixels.
 */
export function suspectLines(words: OcrWord[], findings: Finding[], options: DetectorOptions, fresh?: Set<number>): OcrBox[] {
	const settings = resolveSettings(options);
	const lines = buildLines(words);
	const typesOn = (line: Line) => {
		const types = new Set<string>();
		for (const finding of findings) {
			if (finding.wordIndexes.some((index) => line.wordIndexes.includes(index))) types.add(finding.type === 'custom' ? `custom:${finding.name ?? ''}` : finding.type);
		}
		return types;
	};
	// Ids, dates, amounts and times are no values worth a second look.
	const withoutDecoys = (text: string) => DECOY_RES.reduce((rest, regex) => rest.replace(regex, (match) => ' '.repeat(match.length)), text);
	const looksLikeValue = (text: string, key: string) => {
		const rest = withoutDecoys(text);
		if (key === 'email') return rest.includes('@') || (/\./.test(rest) && (rest.match(/[A-Za-z0-9]/g) ?? []).length >= 8);
		if (key === 'iban') return IBAN_LIKE_RE.test(rest);
		return (rest.match(/\d/g) ?? []).length >= 6 || LONG_NUMBER_RE.test(rest);
	};
	const suspects = new Set<number>();
	lines.forEach((line, lineIndex) => {
		const found = typesOn(line);
		for (const [key, spans] of findLabels(line.text, settings.patterns)) {
			const type = key.startsWith('custom:') ? 'custom' : (key as PiiType);
			if (!settings.enabled.has(type) || !spans.length || found.has(key)) continue;
			if (looksLikeValue(line.text, key)) suspects.add(lineIndex);
			const height = line.box.y1 - line.box.y0;
			// The value may be a line of its own: to the right on the same row, or just below the label.
			lines.forEach((other, otherIndex) => {
				if (otherIndex === lineIndex || typesOn(other).has(key) || !looksLikeValue(other.text, key)) return;
				const sameRow = Math.min(other.box.y1, line.box.y1) - Math.max(other.box.y0, line.box.y0) >= 0.5 * height;
				const toTheRight = other.box.x0 >= line.box.x1 - height && other.box.x0 - line.box.x1 <= SAME_ROW_LABEL_HEIGHTS * height;
				const below = other.box.y0 >= line.box.y1 - height * 0.25 && other.box.y0 - line.box.y1 <= 1.5 * height && other.box.x0 <= line.box.x1 + height && other.box.x1 >= line.box.x0 - height;
				if ((sameRow && toTheRight) || below) suspects.add(otherIndex);
			});
		}
		if (found.size) return;
		const rest = withoutDecoys(line.text);
		if (rest.includes('@') || LONG_NUMBER_RE.test(rest) || IBAN_LIKE_RE.test(rest)) suspects.add(lineIndex);
	});
	return [...suspects]
		.filter((lineIndex) => !fresh || lines[lineIndex].wordIndexes.some((index) => fresh.has(index)))
		.map((lineIndex) => ({ ...lines[lineIndex].box }));
}

/** The same detectors on plain text; a label on the previous line counts as "just above". */
export function detectInText(text: string, options: DetectorOptions): TextFinding[] {
	const settings = resolveSettings(options);
	const findings: TextFinding[] = [];
	let previousLabels: Map<string, Span[]> | undefined;
	let offset = 0;
	for (const rawLine of text.split('\n')) {
		const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
		const labels = findLabels(line, settings.patterns);
		const above = previousLabels;
		const labeller: Labeller = (key, span) =>
			labelToLeft(labels.get(key), span.start) || (above?.get(key)?.length ?? 0) > 0;
		for (const match of scanLine(line, settings, labeller)) {
			findings.push({
				type: match.type,
				...(match.name !== undefined ? { name: match.name } : {}),
				start: offset + match.start,
				end: offset + match.end,
				masked: match.masked,
				confidence: round2(match.confidence),
				labelled: match.labelled,
			});
		}
		previousLabels = labels;
		offset += rawLine.length + 1;
	}
	return findings;
}

const compiledCache = new Map<string, CompiledPattern[]>();

function resolveSettings(options: DetectorOptions): Settings {
	const region = String(options.phoneRegion ?? '').toUpperCase();
	if (!isSupportedCountry(region)) {
		throw new Error(
			`phoneRegion ${JSON.stringify(options.phoneRegion)} is not a supported ISO 3166 alpha-2 region`,
		);
	}
	const types = options.types ?? PII_TYPES;
	for (const type of types) {
		if (!PII_TYPES.includes(type)) throw new Error(`Unknown PII type ${JSON.stringify(type)}`);
	}
	const enabled = new Set<PiiType>(types);
	let patterns: CompiledPattern[] = [];
	if (enabled.has('custom')) {
		if (options.compiledPatterns) {
			patterns = options.compiledPatterns;
		} else if (options.customPatterns?.length) {
			// Frames of one video share the same patterns: compile once per distinct list.
			const key = JSON.stringify(
				options.customPatterns.map((p) => [p.name, p.pattern, p.flags ?? '']),
			);
			patterns = compiledCache.get(key) ?? compileCustomPatterns(options.customPatterns);
			if (!compiledCache.has(key)) {
				if (compiledCache.size >= 32) {
					compiledCache.delete(compiledCache.keys().next().value as string);
				}
				compiledCache.set(key, patterns);
			}
		}
	}
	return { region, enabled, patterns };
}

function findLabels(text: string, patterns: CompiledPattern[]): Map<string, Span[]> {
	const labels = new Map<string, Span[]>();
	const collect = (key: string, regex: RegExp) => {
		regex.lastIndex = 0;
		let match: RegExpExecArray | null;
		while ((match = regex.exec(text)) !== null) {
			if (match[0].length === 0) {
				regex.lastIndex++;
				continue;
			}
			const spans = labels.get(key) ?? [];
			spans.push({ start: match.index, end: match.index + match[0].length });
			labels.set(key, spans);
		}
	};
	for (const [type, regex] of Object.entries(LABELS)) collect(type, regex);
	for (const pattern of patterns) collect(`custom:${pattern.name}`, pattern.label);
	return labels;
}

function labelToLeft(labels: Span[] | undefined, start: number): boolean {
	return (labels ?? []).some(
		(label) => label.end <= start && start - label.end <= LABEL_DISTANCE_CHARS,
	);
}

function scanLine(raw: string, settings: Settings, isLabelled: Labeller): LineMatch[] {
	const { text, corrected } = normaliseOcrDigits(raw);
	const matches: LineMatch[] = [];
	// claimed: values already detected (and long non-card digit runs); decoys: ids, dates, amounts, times.
	// Later detectors skip anything overlapping them.
	const claimed: Span[] = [];
	const decoys: Span[] = [];
	const emit = (type: PiiType, span: Span, masked: string, base: number, name?: string) => {
		if (!settings.enabled.has(type)) return;
		const key = type === 'custom' ? `custom:${name}` : type;
		const labelled = isLabelled(key, span);
		let confidence = labelled ? Math.min(MAX_CONFIDENCE, base + LABEL_BOOST) : base;
		if (type !== 'custom' && type !== 'email' && type !== 'iban' && touches(corrected, span)) {
			confidence *= CORRECTION_FACTOR;
		}
		matches.push({ type, name, start: span.start, end: span.end, masked, confidence, labelled });
	};

	for (const match of execAll(EMAIL_RE, raw)) {
		claimed.push(match);
		emit(
			'email',
			match,
			maskValue('email', raw.slice(match.start, match.end)),
			BASE_CONFIDENCE.email,
		);
	}
	for (const match of execAll(EMAIL_SPACED_RE, raw)) {
		if (overlapsAny(match, claimed)) continue;
		claimed.push(match);
		emit('email', match, maskValue('email', raw.slice(match.start, match.end).replace(/ /g, '')), BASE_CONFIDENCE.email);
	}

	for (const match of execAll(IBAN_RE, raw)) {
		if (overlapsAny(match, claimed)) continue;
		const iban = validIbanPrefix(raw, match);
		if (!iban) continue;
		claimed.push(iban.span);
		emit('iban', iban.span, maskValue('iban', iban.value), BASE_CONFIDENCE.iban * (iban.corrected ? CORRECTION_FACTOR : 1));
	}

	for (const regex of DECOY_RES) {
		for (const match of execAll(regex, text)) {
			if (regex === ID_DECOY && !isIdToken(text.slice(match.start, match.end))) continue;
			decoys.push(match);
		}
	}

	for (const run of execAll(DIGIT_RUN_RE, text)) {
		if (!numberContextOk(text, run.start, run.end) || overlapsAny(run, claimed)) continue;
		const groups = splitGroups(text, run);
		const cardGroups = new Set<number>();

		for (let first = 0; first < groups.length; first++) {
			let found: { last: number; digits: string } | undefined;
			let digits = '';
			for (let last = first; last < groups.length; last++) {
				digits += groups[last].digits;
				if (digits.length > 19) break;
				if (digits.length < 13) continue;
				const span = { start: groups[first].start, end: groups[last].end };
				if (overlapsAny(span, decoys)) continue;
				if (cardBrand(digits) && luhnValid(digits)) found = { last, digits };
			}
			if (!found) continue;
			const span = { start: groups[first].start, end: groups[found.last].end };
			claimed.push(span);
			for (let g = first; g <= found.last; g++) cardGroups.add(g);
			emit(
				'payment_card',
				span,
				maskValue('payment_card', found.digits),
				BASE_CONFIDENCE.payment_card,
			);
			first = found.last;
		}

		// A long digit run that is no card (Luhn-invalid, unknown IIN) is not a phone either.
		let restStart = -1;
		let restDigits = 0;
		for (let g = 0; g <= groups.length; g++) {
			if (g < groups.length && !cardGroups.has(g)) {
				if (restStart < 0) restStart = g;
				restDigits += groups[g].digits.length;
				continue;
			}
			if (restStart >= 0 && restDigits >= 13) {
				claimed.push({ start: groups[restStart].start, end: groups[g - 1].end });
			}
			restStart = -1;
			restDigits = 0;
		}

		for (let g = 0; g + 2 < groups.length; g++) {
			const [area, group, serial] = [groups[g], groups[g + 1], groups[g + 2]];
			if (area.digits.length !== 3 || group.digits.length !== 2 || serial.digits.length !== 4) {
				continue;
			}
			const separator = text[area.end];
			if (text[group.end] !== separator) continue;
			// Spaced SSNs must stand alone; dashed ones must not continue with another dash.
			if (separator === ' ' && groups.length !== 3) continue;
			if (g > 0 && text[area.start - 1] === '-') continue;
			if (g + 3 < groups.length && text[serial.end] === '-') continue;
			const span = { start: area.start, end: serial.end };
			if (overlapsAny(span, claimed) || overlapsAny(span, decoys)) continue;
			claimed.push(span);
			if (ssnValid(area.digits, group.digits, serial.digits)) {
				emit('us_ssn', span, maskValue('us_ssn', serial.digits), BASE_CONFIDENCE.us_ssn);
			}
		}

		if (groups.length === 1 && groups[0].digits.length === 9 && !overlapsAny(run, decoys)) {
			const digits = groups[0].digits;
			if (
				ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5)) &&
				isLabelled('us_ssn', run)
			) {
				claimed.push(run);
				emit('us_ssn', run, maskValue('us_ssn', digits), BARE_SSN_BASE);
			}
		}
	}

	for (const segment of phoneSegments(text, [...claimed, ...decoys])) {
		for (const found of findPhoneNumbersInText(text.slice(segment.start, segment.end), {
			defaultCountry: settings.region,
		})) {
			const span = { start: segment.start + found.startsAt, end: segment.start + found.endsAt };
			// libphonenumber-js 1.13.16 (max metadata) reports the fictional 555-01xx range (415-555-0132)
			// as valid, so isValid() alone keeps the test values our corpus uses.
			if (!found.number.isValid() || overlapsAny(span, claimed)) continue;
			claimed.push(span);
			emit(
				'phone',
				span,
				maskPhoneParts(found.number.countryCallingCode, found.number.nationalNumber),
				BASE_CONFIDENCE.phone,
			);
		}
	}

	for (const pattern of settings.patterns) {
		for (const span of scanCustom(pattern.regex, raw)) {
			emit(
				'custom',
				span,
				maskValue('custom', raw.slice(span.start, span.end)),
				BASE_CONFIDENCE.custom,
				pattern.name,
			);
		}
	}

	return matches.sort((a, b) => a.start - b.start || a.end - b.end);
}

function execAll(regex: RegExp, text: string): Span[] {
	const spans: Span[] = [];
	regex.lastIndex = 0;
	let match: RegExpExecArray | null;
	while ((match = regex.exec(text)) !== null) {
		if (match[0].length === 0) {
			regex.lastIndex++;
			continue;
		}
		spans.push({ start: match.index, end: match.index + match[0].length });
	}
	return spans;
}

function scanCustom(regex: RegExp, text: string): Span[] {
	const spans: Span[] = [];
	const seen = new Set<number>();
	for (
		let windowStart = 0;
		windowStart < text.length;
		windowStart += CUSTOM_SCAN_WINDOW - CUSTOM_SCAN_OVERLAP
	) {
		const window = text.slice(windowStart, windowStart + CUSTOM_SCAN_WINDOW);
		const last = windowStart + CUSTOM_SCAN_WINDOW >= text.length;
		for (const span of execAll(regex, window)) {
			// A match touching the window end may be cut short; the next, overlapping window sees it whole.
			const cut =
				span.end === window.length && span.start >= CUSTOM_SCAN_WINDOW - CUSTOM_SCAN_OVERLAP;
			if (cut && !last) continue;
			const start = windowStart + span.start;
			if (seen.has(start)) continue;
			seen.add(start);
			spans.push({ start, end: windowStart + span.end });
		}
		if (last) break;
	}
	return spans;
}

function overlaps(a: Span, b: Span): boolean {
	return a.start < b.end && b.start < a.end;
}

function overlapsAny(span: Span, others: Span[]): boolean {
	return others.some((other) => overlaps(span, other));
}

function touches(positions: number[], span: Span): boolean {
	return positions.some((position) => position >= span.start && position < span.end);
}

/**
 * Maps O/o→0 and l/I→1 inside tokens that are otherwise digits (at least 3 digits, and at most one
 * letter per 4 digits), keeping offsets. Returns the changed positions.
 */
function normaliseOcrDigits(raw: string): { text: string; corrected: number[] } {
	if (!/[OoIl]/.test(raw) || !/\d/.test(raw)) return { text: raw, corrected: [] };
	const chars = raw.split('');
	const corrected: number[] = [];
	const tokenRe = /\S+/g;
	let token: RegExpExecArray | null;
	while ((token = tokenRe.exec(raw)) !== null) {
		const value = token[0];
		if (value.length < 4 || !OCR_DIGIT_TOKEN_RE.test(value)) continue;
		const digitCount = value.replace(/\D/g, '').length;
		const letterCount = value.replace(/[^OoIl]/g, '').length;
		const letterLimit = Math.max(1, Math.floor(digitCount / 4));
		if (letterCount === 0 || digitCount < 3 || letterCount > letterLimit) continue;
		for (let i = 0; i < value.length; i++) {
			const ch = value[i];
			if (ch === 'O' || ch === 'o') chars[token.index + i] = '0';
			else if (ch === 'l' || ch === 'I') chars[token.index + i] = '1';
			else continue;
			corrected.push(token.index + i);
		}
	}
	return { text: chars.join(''), corrected };
}

function isIdToken(token: string): boolean {
	const parts = token.split(/[-_#/]/);
	if (!parts.slice(1).some((part) => /\d/.test(part))) return false;
	const head = parts[0];
	if ((head.match(/[A-Za-z]/g) ?? []).length < 2) return false;
	// "SSN-123-45-6789" or "Tel-415-555-0132" is a label glued to a value, not an id.
	return !ANY_LABEL_WORD.test(head);
}

/** A digit run is a number of its own, not part of an id (ORD-2024-…), a decimal or a date. */
function numberContextOk(text: string, start: number, end: number): boolean {
	const before = text[start - 1] ?? '';
	const beforeThat = text[start - 2] ?? '';
	if (/[A-Za-z0-9_]/.test(before)) return false;
	if (before === '-' && /[A-Za-z0-9]/.test(beforeThat)) return false;
	if (/[.,/]/.test(before) && /\d/.test(beforeThat)) return false;
	const after = text[end] ?? '';
	const afterThat = text[end + 1] ?? '';
	if (/[A-Za-z0-9_]/.test(after)) return false;
	if (after === '-' && /[A-Za-z0-9]/.test(afterThat)) return false;
	if (/[.,/]/.test(after) && /\d/.test(afterThat)) return false;
	return true;
}

function splitGroups(text: string, run: Span): Array<Span & { digits: string }> {
	const groups: Array<Span & { digits: string }> = [];
	const groupRe = /\d+/g;
	const slice = text.slice(run.start, run.end);
	let group: RegExpExecArray | null;
	while ((group = groupRe.exec(slice)) !== null) {
		groups.push({
			start: run.start + group.index,
			end: run.start + group.index + group[0].length,
			digits: group[0],
		});
	}
	return groups;
}

/** At most this many letters O/I in an IBAN are tried as the digits 0/1 OCR took them for. */
const IBAN_MAX_CORRECTIONS = 3;

/**
 * The IBAN in `value` (electronic format), or the one reading of it with some letters O or I taken as the
 * digits 0 or 1 that passes mod-97 (OCR reads `3M02` as `3MO2`); undefined when there is none or more than one.
 */
function checkedIban(value: string): { value: string; corrected: boolean } | undefined {
	if (isValidIBAN(value)) return { value, corrected: false };
	const ambiguous: number[] = [];
	for (let index = 2; index < value.length; index++) if (value[index] === 'O' || value[index] === 'I') ambiguous.push(index);
	if (!ambiguous.length || ambiguous.length > IBAN_MAX_CORRECTIONS) return undefined;
	const valid: string[] = [];
	for (let subset = 1; subset < 1 << ambiguous.length; subset++) {
		const chars = value.split('');
		ambiguous.forEach((index, bit) => {
			if (subset & (1 << bit)) chars[index] = chars[index] === 'O' ? '0' : '1';
		});
		const candidate = chars.join('');
		if (isValidIBAN(candidate)) valid.push(candidate);
	}
	return valid.length === 1 ? { value: valid[0], corrected: true } : undefined;
}

function validIbanPrefix(raw: string, match: Span): { span: Span; value: string; corrected: boolean } | undefined {
	// The pattern may swallow a following 4-character word; drop trailing groups until the checksum holds.
	let end = match.end;
	while (end - match.start >= 15) {
		const candidate = raw.slice(match.start, end);
		const electronic = electronicFormatIBAN(candidate);
		const checked = electronic ? checkedIban(electronic) : undefined;
		if (checked) return { span: { start: match.start, end }, ...checked };
		const lastSpace = candidate.lastIndexOf(' ');
		if (lastSpace <= 4) return undefined;
		end = match.start + lastSpace;
	}
	return undefined;
}

/** Pieces of the line outside blocked spans and column gaps that hold at least 7 digits. */
function phoneSegments(text: string, blocked: Span[]): Span[] {
	const mask = new Uint8Array(text.length);
	for (const span of blocked) mask.fill(1, span.start, span.end);
	const columnRe = / {3,}/g;
	let gap: RegExpExecArray | null;
	while ((gap = columnRe.exec(text)) !== null) mask.fill(1, gap.index, gap.index + gap[0].length);
	const segments: Span[] = [];
	let start = -1;
	let digits = 0;
	for (let i = 0; i <= text.length; i++) {
		if (i < text.length && mask[i] === 0) {
			if (start < 0) start = i;
			const code = text.charCodeAt(i);
			if (code >= 48 && code <= 57) digits++;
			continue;
		}
		if (start >= 0 && digits >= 7) segments.push({ start, end: i });
		start = -1;
		digits = 0;
	}
	return segments;
}

function wordsInSpan(line: Line, span: Span): number[] {
	const indexes: number[] = [];
	for (let i = span.start; i < span.end; i++) {
		const index = line.charToWord[i];
		if (index >= 0 && indexes[indexes.length - 1] !== index) indexes.push(index);
	}
	return indexes;
}

/** Union box of the characters [start, end) of a line; partial words are cut by character share. */
function spanBox(words: OcrWord[], line: Line, span: Span): OcrBox | undefined {
	let box: OcrBox | undefined;
	line.wordIndexes.forEach((index, position) => {
		const wordStart = line.wordStarts[position];
		const text = words[index].text.trim();
		const wordEnd = wordStart + text.length;
		if (wordEnd <= span.start || wordStart >= span.end) return;
		const { x0, y0, x1, y1 } = words[index].box;
		const charWidth = (x1 - x0) / text.length;
		const left = Math.floor(x0 + charWidth * (Math.max(span.start, wordStart) - wordStart));
		const right = Math.ceil(x0 + charWidth * (Math.min(span.end, wordEnd) - wordStart));
		box = box
			? {
					x0: Math.min(box.x0, left),
					y0: Math.min(box.y0, y0),
					x1: Math.max(box.x1, right),
					y1: Math.max(box.y1, y1),
				}
			: { x0: left, y0, x1: right, y1 };
	});
	return box;
}

function ocrFactor(weakest: number): number {
	if (!Number.isFinite(weakest) || weakest >= LOW_OCR_CONFIDENCE) return 1;
	return Math.max(MIN_OCR_FACTOR, weakest / LOW_OCR_CONFIDENCE);
}

function round2(value: number): number {
	return Math.round(value * 100) / 100;
}
