import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { ffmpegPath } from '../../scripts/lib/ffmpeg';
import {
	charAdvance,
	desktopGroundTruth,
	fontFile,
	generateDesktopRecording,
	piiCorpus,
	type Box,
	type DesktopSpec,
	type GeneratedRecording,
	type GroundTruth,
	type PiiType,
} from '../support/syntheticRecording';

jest.setTimeout(60_000);

const OLD_STATIC_FFMPEG = join(__dirname, '../../node_modules/@ffmpeg-installer/linux-x64/ffmpeg');

function ffprobePath(): string {
	const fromEnv = process.env.CX_FFPROBE_PATH?.trim();
	if (fromEnv) return fromEnv;
	if (spawnSync('ffprobe', ['-version']).status === 0) return 'ffprobe';
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	return (require('@ffprobe-installer/ffprobe') as { path: string }).path;
}

function isExecutable(path: string): boolean {
	try {
		accessSync(path, fsConstants.X_OK);
		return true;
	} catch {
		return false;
	}
}

interface Probe {
	format: { format_name: string; duration: string; start_time?: string };
	streams: Array<{
		codec_type: string;
		codec_name: string;
		width?: number;
		height?: number;
		pix_fmt?: string;
	}>;
}

function probe(file: string): Probe {
	const result = spawnSync(
		ffprobePath(),
		[
			'-v',
			'error',
			'-show_entries',
			'format=format_name,duration,start_time:stream=codec_type,codec_name,width,height,pix_fmt',
			'-of',
			'json',
			file,
		],
		{ encoding: 'utf8' },
	);
	if (result.status !== 0) throw new Error(`ffprobe failed on ${file}: ${result.stderr}`);
	return JSON.parse(result.stdout) as Probe;
}

/** Runs ffmpeg for an analysis filter and returns its stderr. */
function analyse(file: string, args: string[]): string {
	const result = spawnSync(
		ffmpegPath(),
		['-hide_banner', '-nostdin', '-i', file, ...args, '-f', 'null', '-'],
		{ encoding: 'utf8' },
	);
	if (result.status !== 0) throw new Error(`ffmpeg analysis failed on ${file}: ${result.stderr}`);
	return result.stderr;
}

function maxVolume(file: string): number {
	const match = /max_volume: (-?[\d.]+|-inf) dB/.exec(
		analyse(file, ['-vn', '-af', 'volumedetect']),
	);
	if (!match) throw new Error(`no volumedetect report for ${file}`);
	return match[1] === '-inf' ? -Infinity : Number(match[1]);
}

function blackIntervals(file: string): Array<[number, number]> {
	const stderr = analyse(file, ['-an', '-vf', 'blackdetect=d=0.2:pix_th=0.10']);
	return [...stderr.matchAll(/black_start:([\d.]+) black_end:([\d.]+)/g)].map((m) => [
		Number(m[1]),
		Number(m[2]),
	]);
}

/** One decoded frame as 8-bit luma, row by row. */
function grayFrame(file: string, atSec: number, width: number, height: number): Buffer {
	const result = spawnSync(
		ffmpegPath(),
		[
			'-hide_banner',
			'-nostdin',
			'-v',
			'error',
			'-ss',
			String(atSec),
			'-i',
			file,
			'-frames:v',
			'1',
			'-f',
			'rawvideo',
			'-pix_fmt',
			'gray',
			'-',
		],
		{ maxBuffer: width * height * 2 },
	);
	if (result.status !== 0 || result.stdout.length !== width * height) {
		throw new Error(
			`frame extraction failed at ${atSec} s of ${file}: ${result.stderr.toString()}`,
		);
	}
	return result.stdout;
}

interface Region {
	x: number;
	y: number;
	w: number;
	h: number;
}

function pixels(
	frame: Buffer,
	width: number,
	region: Region,
): Array<{ x: number; y: number; luma: number }> {
	const out: Array<{ x: number; y: number; luma: number }> = [];
	for (let y = region.y; y < region.y + region.h; y++) {
		for (let x = region.x; x < region.x + region.w; x++)
			out.push({ x, y, luma: frame[y * width + x] });
	}
	return out;
}

/**
 * The value's box holds text that reaches its first and last character cell and its cap height, and the
 * strips just left, right, above and below the box are plain form background.
 */
function expectTightBox(
	frame: Buffer,
	truth: GroundTruth,
	box: Box,
	value: string,
	fontSize: number,
): void {
	const width = truth.spec.width ?? 1920;
	const [x, y, w, h] = box;
	const advance = charAdvance(fontSize);
	const contrast = Math.abs(truth.textLuma - truth.formLuma);
	const isText = (luma: number) => Math.abs(luma - truth.formLuma) > contrast * 0.4;
	// Codec ringing next to glyphs stays well under a quarter of the text contrast; glyph strokes do not.
	const isBackground = (luma: number) => Math.abs(luma - truth.formLuma) <= contrast * 0.25;

	const inside = pixels(frame, width, { x, y, w, h }).filter((p) => isText(p.luma));
	expect(inside.length).toBeGreaterThan(value.replace(/\s/g, '').length * fontSize * 0.15);
	const left = Math.min(...inside.map((p) => p.x));
	const right = Math.max(...inside.map((p) => p.x));
	const top = Math.min(...inside.map((p) => p.y));
	expect(left).toBeLessThan(x + 2 + advance / 2);
	expect(right).toBeGreaterThan(x + w - 2 - advance / 2);
	expect(top).toBeLessThanOrEqual(y + 2 + Math.ceil(fontSize * 0.12));

	const strips: Region[] = [
		{ x: x + w, y, w: 2 * advance, h },
		{ x: x - advance, y, w: advance, h },
		{ x, y: y - 3, w, h: 3 },
		{ x, y: y + h, w, h: 3 },
	];
	for (const strip of strips) {
		const stray = pixels(frame, width, strip).filter((p) => !isBackground(p.luma));
		expect({ strip, stray: stray.slice(0, 5) }).toEqual({ strip, stray: [] });
	}
}

function mid(fromSec: number, toSec: number): number {
	return (fromSec + toSec) / 2;
}

const PAYMENT_SCREEN = {
	title: 'Payment details',
	fields: [
		{ label: 'Card number', value: '4111 1111 1111 1111', pii: 'payment_card' as const },
		{ label: 'Amount', value: '$1,249.00', decoy: 'amount' },
	],
};

describe('generateDesktopRecording', () => {
	let dir: string;
	let webm: GeneratedRecording;
	let mp4: GeneratedRecording;
	let silentVideo: GeneratedRecording;
	let fullHd: GeneratedRecording;

	beforeAll(async () => {
		dir = mkdtempSync(join(tmpdir(), 'cx-synthetic-test-'));
		[webm, mp4, silentVideo, fullHd] = await Promise.all([
			generateDesktopRecording(join(dir, 'desk.webm'), {
				seconds: 6,
				width: 640,
				height: 360,
				theme: 'dark',
				fontSize: 16,
				audio: 'tone',
				container: 'webm',
				blackFromSec: 3,
				blackToSec: 4,
				segmentSeconds: 2,
				screens: [
					{
						fromSec: 0,
						toSec: 2,
						title: 'Identity verification',
						fields: [
							{ label: 'Email', value: 'jane.doe@example.com', pii: 'email' },
							{ label: 'DOB', value: '11/02/1986', decoy: 'date' },
						],
					},
					{ fromSec: 2, toSec: 6, ...PAYMENT_SCREEN },
				],
			}),
			generateDesktopRecording(join(dir, 'desk.mp4'), {
				seconds: 4,
				width: 640,
				height: 360,
				theme: 'light',
				fontSize: 12,
				audio: 'silence',
				container: 'mp4',
				screens: [{ fromSec: 1, toSec: 4, ...PAYMENT_SCREEN }],
			}),
			generateDesktopRecording(join(dir, 'noaudio.webm'), {
				seconds: 2,
				width: 640,
				height: 360,
				audio: 'none',
			}),
			generateDesktopRecording(join(dir, 'fullhd.webm'), {
				seconds: 2,
				theme: 'light',
				fontSize: 12,
				audio: 'none',
				screens: [{ fromSec: 0, toSec: 2, ...PAYMENT_SCREEN }],
			}),
		]);
	});

	afterAll(() => {
		if (dir) rmSync(dir, { recursive: true, force: true });
	});

	it('writes VP8 + Opus WebM at the requested size and duration', () => {
		expect(webm.contentType).toBe('video/webm');
		const info = probe(webm.file);
		expect(info.format.format_name).toContain('webm');
		expect(Number(info.format.duration)).toBeCloseTo(6, 1);
		expect(info.streams.map((s) => [s.codec_type, s.codec_name])).toEqual([
			['video', 'vp8'],
			['audio', 'opus'],
		]);
		expect(info.streams[0]).toMatchObject({ width: 640, height: 360 });
		expect(probe(fullHd.file).streams[0]).toMatchObject({
			codec_name: 'vp8',
			width: 1920,
			height: 1080,
		});
	});

	it('writes H.264 (yuv420p) + AAC MP4', () => {
		expect(mp4.contentType).toBe('video/mp4');
		const info = probe(mp4.file);
		expect(info.format.format_name).toContain('mp4');
		expect(Number(info.format.duration)).toBeCloseTo(4, 1);
		expect(info.streams.map((s) => [s.codec_type, s.codec_name])).toEqual([
			['video', 'h264'],
			['audio', 'aac'],
		]);
		expect(info.streams[0]).toMatchObject({ width: 640, height: 360, pix_fmt: 'yuv420p' });
	});

	it('audio none has no audio stream, silence is digital silence, tone is audible', () => {
		expect(probe(silentVideo.file).streams.map((s) => s.codec_type)).toEqual(['video']);
		expect(maxVolume(mp4.file)).toBeLessThanOrEqual(-90);
		expect(maxVolume(webm.file)).toBeGreaterThan(-30);
	});

	it('cuts segments of segmentSeconds that each start at zero', () => {
		expect(webm.segments.map((file) => basename(file))).toEqual([
			'desk-000.webm',
			'desk-001.webm',
			'desk-002.webm',
		]);
		for (const segment of webm.segments) {
			const info = probe(segment);
			expect(Number(info.format.duration)).toBeCloseTo(2, 1);
			expect(Number(info.format.start_time ?? 0)).toBeLessThan(0.05);
			expect(info.streams.map((s) => s.codec_name)).toEqual(['vp8', 'opus']);
		}
		expect(mp4.segments).toEqual([]);
	});

	it('draws the black stretch, and only it, as black (dark theme included)', () => {
		const intervals = blackIntervals(webm.file);
		expect(intervals).toHaveLength(1);
		expect(intervals[0][0]).toBeCloseTo(3, 1);
		expect(intervals[0][1]).toBeCloseTo(4, 1);
		expect(blackIntervals(fullHd.file)).toEqual([]);
		// The dark theme itself stays above blackdetect's pixel threshold (0.10 of the luma range).
		const darkFrame = grayFrame(webm.file, 1, 640, 360);
		const nearBlack = darkFrame.filter((luma) => luma <= 0.1 * 255 + 4).length / darkFrame.length;
		expect(nearBlack).toBeLessThan(0.05);
	});

	it('splits appearances around the black stretch and follows the screens', () => {
		const summary = (truth: GroundTruth) => [
			...truth.appearances.map((a) => [a.type, a.fromSec, a.toSec]),
			...truth.decoys.map((d) => [d.kind, d.fromSec, d.toSec]),
		];
		expect(summary(webm.truth)).toEqual([
			['email', 0, 2],
			['payment_card', 2, 3],
			['payment_card', 4, 6],
			['date', 0, 2],
			['amount', 2, 3],
			['amount', 4, 6],
		]);
		expect(summary(mp4.truth)).toEqual([
			['payment_card', 1, 4],
			['amount', 1, 4],
		]);
		expect(webm.truth.appearances[0]).toMatchObject({
			fontSize: 16,
			theme: 'dark',
			value: 'jane.doe@example.com',
		});
	});

	it('puts every value exactly inside its box (dark VP8, light H.264 at 12 px, 1080p VP8 at 12 px)', () => {
		for (const recording of [webm, mp4, fullHd]) {
			const { truth } = recording;
			const fontSize = truth.spec.fontSize ?? 28;
			for (const item of [...truth.appearances, ...truth.decoys]) {
				const frame = grayFrame(
					recording.file,
					mid(item.fromSec, item.toSec),
					truth.spec.width ?? 1920,
					truth.spec.height ?? 1080,
				);
				expectTightBox(frame, truth, item.box, item.value, fontSize);
			}
		}
	});

	it('shows nothing of a value before its screen or under the black stretch', () => {
		const [card] = mp4.truth.appearances;
		const before = grayFrame(mp4.file, 0.5, 640, 360);
		expect(
			pixels(before, 640, toRegion(card.box)).every(
				(p) => Math.abs(p.luma - mp4.truth.formLuma) <= 14,
			),
		).toBe(true);
		const black = grayFrame(webm.file, 3.5, 640, 360);
		expect(pixels(black, 640, { x: 0, y: 0, w: 640, h: 360 }).every((p) => p.luma <= 20)).toBe(
			true,
		);
	});

	it('is deterministic: the same spec gives the same bytes and the same truth', async () => {
		const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
		const specs: DesktopSpec[] = [
			{ seconds: 2, fontSize: 12, audio: 'tone', container: 'webm' },
			{ seconds: 1, width: 320, height: 180, fontSize: 12, audio: 'tone', container: 'mp4' },
		];
		for (const [index, spec] of specs.entries()) {
			const extension = spec.container ?? 'webm';
			const [first, second] = await Promise.all([
				generateDesktopRecording(join(dir, `same-${index}-a.${extension}`), spec),
				generateDesktopRecording(join(dir, `same-${index}-b.${extension}`), spec),
			]);
			expect(digest(first.file)).toBe(digest(second.file));
			expect(first.truth).toEqual(second.truth);
		}
	});

	it('rejects specs it cannot draw faithfully', () => {
		expect(() => desktopGroundTruth({ seconds: 2, fontSize: 11 })).toThrow(/fontSize/);
		expect(() =>
			desktopGroundTruth({
				seconds: 2,
				screens: [{ fromSec: 1, toSec: 3, title: 'Late', fields: [] }],
			}),
		).toThrow(/outside/);
		const overlapping = [
			{ fromSec: 0, toSec: 2, title: 'A', fields: [] },
			{ fromSec: 1, toSec: 2, title: 'B', fields: [] },
		];
		expect(() => desktopGroundTruth({ seconds: 2, screens: overlapping })).toThrow(/overlap/);
		const wideChars = [
			{ fromSec: 0, toSec: 2, title: 'Card', fields: [{ label: 'Card', value: '•••• 1111' }] },
		];
		expect(() => desktopGroundTruth({ seconds: 2, screens: wideChars })).toThrow(/ASCII/);
		const tooWide = {
			label: 'IBAN',
			value: 'FR14 2004 1010 0505 0001 3M02 606',
			pii: 'iban' as const,
		};
		expect(() =>
			desktopGroundTruth({
				seconds: 2,
				width: 640,
				height: 360,
				fontSize: 28,
				screens: [{ fromSec: 0, toSec: 2, title: 'Refund', fields: [tooWide] }],
			}),
		).toThrow(/does not fit/);
	});

	const oldBuildIt = isExecutable(OLD_STATIC_FFMPEG) ? it : it.skip;
	oldBuildIt('works with the 2018 static ffmpeg from @ffmpeg-installer', async () => {
		const previous = process.env.CX_FFMPEG_PATH;
		process.env.CX_FFMPEG_PATH = OLD_STATIC_FFMPEG;
		let oldWebm: GeneratedRecording;
		let oldMp4: GeneratedRecording;
		try {
			const screens = [{ fromSec: 0, toSec: 2, ...PAYMENT_SCREEN }];
			[oldWebm, oldMp4] = await Promise.all([
				generateDesktopRecording(join(dir, 'old.webm'), {
					seconds: 2,
					width: 640,
					height: 360,
					fontSize: 14,
					audio: 'tone',
					segmentSeconds: 1,
					screens,
				}),
				generateDesktopRecording(join(dir, 'old.mp4'), {
					seconds: 2,
					width: 640,
					height: 360,
					theme: 'dark',
					fontSize: 14,
					audio: 'silence',
					container: 'mp4',
					screens,
				}),
			]);
		} finally {
			if (previous === undefined) delete process.env.CX_FFMPEG_PATH;
			else process.env.CX_FFMPEG_PATH = previous;
		}
		expect(probe(oldWebm.file).streams.map((s) => s.codec_name)).toEqual(['vp8', 'opus']);
		expect(oldWebm.segments).toHaveLength(2);
		expect(probe(oldMp4.file).streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
		expect(maxVolume(oldMp4.file)).toBeLessThanOrEqual(-90);
		for (const recording of [oldWebm, oldMp4]) {
			const [card] = recording.truth.appearances;
			expectTightBox(
				grayFrame(recording.file, 1, 640, 360),
				recording.truth,
				card.box,
				card.value,
				14,
			);
		}
	});
});

function toRegion([x, y, w, h]: Box): Region {
	return { x, y, w, h };
}

function luhnValid(value: string): boolean {
	const digits = value.replace(/\D/g, '');
	let sum = 0;
	for (let index = 0; index < digits.length; index++) {
		let digit = Number(digits[digits.length - 1 - index]);
		if (index % 2 === 1) {
			digit *= 2;
			if (digit > 9) digit -= 9;
		}
		sum += digit;
	}
	return digits.length >= 13 && sum % 10 === 0;
}

function ssnStructureValid(value: string): boolean {
	const match = /^(\d{3})[- ]?(\d{2})[- ]?(\d{4})$/.exec(value);
	if (!match) return false;
	const [, area, group, serial] = match;
	return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

function ibanChecksumValid(value: string): boolean {
	const compact = value.replace(/\s/g, '').toUpperCase();
	const rearranged = compact.slice(4) + compact.slice(0, 4);
	const numeric = rearranged.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
	let remainder = 0;
	for (const digit of numeric) remainder = (remainder * 10 + Number(digit)) % 97;
	return remainder === 1;
}

describe('piiCorpus', () => {
	const corpus = piiCorpus();
	const truths = corpus.map((clip) => ({ name: clip.name, truth: desktopGroundTruth(clip.spec) }));
	const appearances = truths.flatMap(({ name, truth }) =>
		truth.appearances.map((a) => ({ ...a, clip: name })),
	);
	const decoys = truths.flatMap(({ name, truth }) =>
		truth.decoys.map((d) => ({ ...d, clip: name })),
	);

	it('has at least 20 short 1080p clips with unique names that all fit their form', () => {
		expect(corpus.length).toBeGreaterThanOrEqual(20);
		expect(new Set(corpus.map((clip) => clip.name)).size).toBe(corpus.length);
		for (const { spec } of corpus) {
			expect(spec.seconds).toBeGreaterThanOrEqual(8);
			expect(spec.seconds).toBeLessThanOrEqual(20);
			expect(spec.width ?? 1920).toBe(1920);
			expect(spec.height ?? 1080).toBe(1080);
		}
		expect(fontFile()).toMatch(/DejaVuSansMono\.ttf$/);
	});

	it('covers every PII type at least 3 times, in several clips, with varied values', () => {
		const types: PiiType[] = ['payment_card', 'us_ssn', 'email', 'phone', 'iban'];
		for (const type of types) {
			const ofType = appearances.filter((a) => a.type === type);
			expect({ type, count: ofType.length >= 3 }).toEqual({ type, count: true });
			expect(new Set(ofType.map((a) => a.clip)).size).toBeGreaterThanOrEqual(3);
			expect(new Set(ofType.map((a) => a.value)).size).toBeGreaterThanOrEqual(3);
		}
	});

	it('has decoys of every kind, and clean clips with decoys only', () => {
		const kinds = new Set(decoys.map((d) => d.kind));
		for (const kind of [
			'luhn_invalid_card',
			'order_id',
			'ticket_id',
			'date',
			'amount',
			'masked_card',
			'invoice_id',
			'zip',
			'invalid_ssn',
		]) {
			expect(kinds).toContain(kind);
		}
		const clean = truths.filter(({ truth }) => truth.appearances.length === 0);
		expect(clean.length).toBeGreaterThanOrEqual(2);
		for (const { truth } of clean) expect(truth.decoys.length).toBeGreaterThan(0);
	});

	it('mixes UI-sized and large text, both themes at small sizes, and both containers', () => {
		const specs = corpus.map((clip) => clip.spec);
		expect(Math.min(...specs.map((s) => s.fontSize ?? 28))).toBeLessThanOrEqual(12);
		expect(Math.max(...specs.map((s) => s.fontSize ?? 28))).toBeGreaterThanOrEqual(32);
		for (const theme of ['light', 'dark'] as const) {
			expect(specs.some((s) => s.theme === theme && (s.fontSize ?? 28) <= 14)).toBe(true);
		}
		expect(new Set(specs.map((s) => s.container))).toEqual(new Set(['webm', 'mp4']));
		expect(appearances.filter((a) => a.fontSize <= 14).length).toBeGreaterThanOrEqual(10);
	});

	it('uses valid test values for PII and invalid look-alikes for decoys', () => {
		for (const a of appearances) {
			if (a.type === 'payment_card')
				expect({ value: a.value, luhn: luhnValid(a.value) }).toEqual({
					value: a.value,
					luhn: true,
				});
			if (a.type === 'us_ssn')
				expect({ value: a.value, valid: ssnStructureValid(a.value) }).toEqual({
					value: a.value,
					valid: true,
				});
			if (a.type === 'iban')
				expect({ value: a.value, valid: ibanChecksumValid(a.value) }).toEqual({
					value: a.value,
					valid: true,
				});
			if (a.type === 'phone') expect(a.value).toMatch(/555\D?01\d\d$/);
			if (a.type === 'email')
				expect(a.value.toLowerCase()).toMatch(/@([a-z]+\.)*example\.(com|org|net)$/);
		}
		for (const d of decoys) {
			if (d.kind === 'luhn_invalid_card')
				expect({ value: d.value, luhn: luhnValid(d.value) }).toEqual({
					value: d.value,
					luhn: false,
				});
			if (d.kind === 'invalid_ssn')
				expect({ value: d.value, valid: ssnStructureValid(d.value) }).toEqual({
					value: d.value,
					valid: false,
				});
			if (d.kind === 'iban_bad_checksum')
				expect({ value: d.value, valid: ibanChecksumValid(d.value) }).toEqual({
					value: d.value,
					valid: false,
				});
		}
	});

	it('times every appearance by its screen, minus the black stretch, and keeps boxes apart', () => {
		for (const { spec } of corpus) {
			const truth = desktopGroundTruth(spec);
			const black: [number, number] | undefined =
				spec.blackFromSec !== undefined && spec.blackToSec !== undefined
					? [spec.blackFromSec, spec.blackToSec]
					: undefined;
			const items = [
				...truth.appearances.map((a) => ({ ...a, tag: a.type })),
				...truth.decoys.map((d) => ({ ...d, tag: d.kind })),
			];
			for (const item of items) {
				const screen = spec.screens?.find(
					(s) =>
						s.fromSec <= item.fromSec &&
						item.toSec <= s.toSec &&
						s.fields.some((f) => f.value === item.value && (f.pii ?? f.decoy) === item.tag),
				);
				expect(screen).toBeDefined();
				if (black) expect(item.toSec <= black[0] || item.fromSec >= black[1]).toBe(true);
				const [x, y, w, h] = item.box;
				expect(x >= 0 && y >= 0 && x + w <= 1920 && y + h <= 1080).toBe(true);
				expect(w).toBe(item.value.length * charAdvance(spec.fontSize ?? 28) + 4);
			}
			// Each PII/decoy field is visible for exactly its screen's time outside the black stretch.
			for (const screen of spec.screens ?? []) {
				for (const field of screen.fields.filter((f) => f.pii ?? f.decoy)) {
					const shown = items
						.filter(
							(i) =>
								i.value === field.value && i.fromSec >= screen.fromSec && i.toSec <= screen.toSec,
						)
						.reduce((sum, i) => sum + (i.toSec - i.fromSec), 0);
					const hidden = black
						? Math.max(0, Math.min(black[1], screen.toSec) - Math.max(black[0], screen.fromSec))
						: 0;
					expect(shown).toBeCloseTo(screen.toSec - screen.fromSec - hidden, 6);
				}
			}
			// Boxes on screen at the same time never overlap.
			for (const [index, a] of items.entries()) {
				for (const b of items.slice(index + 1)) {
					if (a.toSec <= b.fromSec || b.toSec <= a.fromSec) continue;
					const apart =
						a.box[0] + a.box[2] <= b.box[0] ||
						b.box[0] + b.box[2] <= a.box[0] ||
						a.box[1] + a.box[3] <= b.box[1] ||
						b.box[1] + b.box[3] <= a.box[1];
					expect(apart).toBe(true);
				}
			}
		}
	});

	it('is the same on every call', () => {
		expect(JSON.stringify(piiCorpus())).toBe(JSON.stringify(corpus));
	});

	it('has held-out variants: the same kinds of clip with other values, sizes, themes and layouts', () => {
		const held = piiCorpus(1);
		expect(held).toHaveLength(corpus.length);
		expect(held.every((clip) => clip.name.startsWith('v1-'))).toBe(true);
		const heldTruths = held.map((clip) => desktopGroundTruth(clip.spec));
		const heldAppearances = heldTruths.flatMap((truth) => truth.appearances);
		for (const type of ['payment_card', 'us_ssn', 'email', 'phone', 'iban'] as PiiType[]) {
			expect({ type, present: heldAppearances.some((a) => a.type === type) }).toEqual({ type, present: true });
		}
		// Clip by clip, the values or the text size differ from the tuning corpus.
		const differs = held.filter((clip, index) => JSON.stringify(clip.spec) !== JSON.stringify(corpus[index].spec));
		expect(differs).toHaveLength(corpus.length);
		const valueAt = (truth: { appearances: Array<{ value: string; fontSize: number }> }) => truth.appearances.map((a) => `${a.value}@${a.fontSize}`).join('|');
		const same = heldTruths.filter((truth, index) => truth.appearances.length > 0 && valueAt(truth) === valueAt(truths[index].truth));
		expect(same).toEqual([]);
	});
});
