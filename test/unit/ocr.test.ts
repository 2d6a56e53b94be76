import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import ts from 'typescript';

import { resolveTool } from '../../nodes/shared/media/tools';
import type { OcrWord } from '../../nodes/shared/pii/detectors';
import {
	closeAllOcrPools,
	imageSize,
	OcrError,
	OcrLanguageError,
	OcrPool,
	sharedOcrPool,
	type OcrPage,
} from '../../nodes/shared/pii/ocr';

jest.setTimeout(60_000);

// The exports object the module calls into, so that worker starts can be counted.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tesseract = require('tesseract.js') as typeof import('tesseract.js');
const ROOT = join(__dirname, '..', '..');
const BEST_INT = join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int', 'eng.traineddata.gz');

const ffmpeg = resolveTool('ffmpeg');
const SYSTEM_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
const FONT = existsSync(SYSTEM_FONT)
	? SYSTEM_FONT
	: join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSansMono.ttf');

interface Text {
	text: string;
	x: number;
	y: number;
	size: number;
	color?: string;
}

interface Picture {
	width: number;
	height: number;
	background: string;
	color: string;
	texts: Text[];
	boxes?: Array<{ x: number; y: number; w: number; h: number; color: string }>;
	/** `png` (default) or `pgm` (8-bit gray, what the frame sampler produces). */
	format?: 'png' | 'pgm';
}

let dir: string;
let counter = 0;

/** Draws text with ffmpeg (each text through `textfile=`, so nothing needs escaping) and returns the image bytes. */
async function draw(picture: Picture): Promise<Buffer> {
	const id = counter++;
	const filters: string[] = [];
	for (const box of picture.boxes ?? []) {
		filters.push(`drawbox=x=${box.x}:y=${box.y}:w=${box.w}:h=${box.h}:color=${box.color}:t=fill`);
	}
	for (const [index, text] of picture.texts.entries()) {
		const file = join(dir, `text-${id}-${index}.txt`);
		await writeFile(file, text.text);
		filters.push(
			`drawtext=fontfile=${FONT}:textfile=${file}:x=${text.x}:y=${text.y}:fontsize=${text.size}:fontcolor=${text.color ?? picture.color}`,
		);
	}
	const format = picture.format ?? 'png';
	const out = join(dir, `image-${id}.${format}`);
	execFileSync(ffmpeg.path, [
		'-hide_banner', '-loglevel', 'error', '-y',
		'-f', 'lavfi', '-i', `color=c=${picture.background}:s=${picture.width}x${picture.height}`,
		'-frames:v', '1', '-vf', [...filters, format === 'pgm' ? 'format=gray' : 'null'].join(','),
		'-c:v', format, out,
	]);
	return readFile(out);
}

const CARD_IMAGE: Picture = {
	width: 1280,
	height: 300,
	background: 'white',
	color: 'black',
	texts: [
		{ text: 'Card number 4111 1111 1111 1111', x: 40, y: 30, size: 28 },
		{ text: 'Email jane.doe@example.com', x: 40, y: 100, size: 28 },
		{ text: 'Phone +1 415-555-0132', x: 40, y: 200, size: 14 },
	],
};

const FORM_FIELDS: Array<[string, string]> = [
	['Name', 'Jane Q. Doe'],
	['Account ID', 'ACC-20931'],
	['Card number', '4111 1111 1111 1111'],
	['Expiry', '12/29'],
	['Email', 'jane.doe@example.com'],
	['SSN', '123-45-6789'],
	['Phone', '+1 415-555-0132'],
	['IBAN', 'DE89 3704 0044 0532 0130 00'],
	['Order', 'ORD-55821'],
	['Amount', '$129.95'],
	['Notes', 'customer asked for a refund'],
];

/** A 1920×1080 agent desktop: dark header, sidebar menu, a 12-line payment form in `size` px text. */
function formPicture(size: number, format: 'png' | 'pgm' = 'png'): { picture: Picture; valueX: number; rowY: number[] } {
	const valueX = 340 + size * 12;
	const step = Math.max(28, Math.round(size * 2.2));
	const rowY = FORM_FIELDS.map((_, row) => 180 + row * step);
	const texts: Text[] = [
		{ text: 'Acme Contact Center', x: 24, y: 20, size: 24, color: 'white' },
		...['Home', 'Cases', 'Payments', 'Reports'].map((item, row) => ({ text: item, x: 30, y: 110 + row * 48, size })),
		{ text: 'Customer payment', x: 340, y: 110, size: Math.round(size * 1.4) },
		...FORM_FIELDS.flatMap(([label, value], row) => [
			{ text: label, x: 340, y: rowY[row], size },
			{ text: value, x: valueX, y: rowY[row], size },
		]),
	];
	return {
		picture: {
			width: 1920,
			height: 1080,
			background: 'white',
			color: 'black',
			texts,
			boxes: [
				{ x: 0, y: 0, w: 1920, h: 64, color: '0x1f2937' },
				{ x: 0, y: 64, w: 260, h: 1016, color: '0xf3f4f6' },
			],
			format,
		},
		valueX,
		rowY,
	};
}

/** Text of each OCR line, words left to right, spaces and OCR'd box borders removed. */
function lineTexts(page: OcrPage): string[] {
	const lines = new Map<string, OcrWord[]>();
	for (const word of page.words) {
		const line = lines.get(word.lineId ?? '') ?? [];
		line.push(word);
		lines.set(word.lineId ?? '', line);
	}
	return [...lines.values()].map((words) =>
		words
			.sort((a, b) => a.box.x0 - b.box.x0)
			.map((word) => word.text)
			.join(' '),
	);
}

const compact = (text: string) => text.replace(/[\s|]/g, '');

function expectPlausibleBoxes(page: OcrPage, width: number, height: number): void {
	expect(page.words.length).toBeGreaterThan(0);
	for (const word of page.words) {
		expect(word.box.x0).toBeLessThan(word.box.x1);
		expect(word.box.y0).toBeLessThan(word.box.y1);
		expect(word.box.x0).toBeGreaterThanOrEqual(0);
		expect(word.box.y0).toBeGreaterThanOrEqual(0);
		expect(word.box.x1).toBeLessThanOrEqual(width);
		expect(word.box.y1).toBeLessThanOrEqual(height);
		expect(word.confidence).toBeGreaterThanOrEqual(0);
		expect(word.confidence).toBeLessThanOrEqual(100);
		expect(word.lineId).toMatch(/^b\d+\.p\d+\.l\d+$/);
	}
	expect(page.meanConfidence).toBeGreaterThanOrEqual(0);
	expect(page.meanConfidence).toBeLessThanOrEqual(100);
	expect(page.ms).toBeGreaterThan(0);
	expect(page.width).toBe(width);
	expect(page.height).toBe(height);
}

/** Runs `run` and counts the tesseract.js workers it asked for. */
async function countStarts<T>(run: () => Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; starts: number }> {
	const spy = jest.spyOn(tesseract, 'createWorker');
	try {
		const [outcome] = await Promise.allSettled([run()]);
		return { outcome, starts: spy.mock.calls.length };
	} finally {
		spy.mockRestore();
	}
}

/** The module and what it imports at run time, transpiled for a plain Node process. */
async function transpiledModule(): Promise<string> {
	const out = join(dir, 'build');
	for (const file of ['nodes/shared/pii/ocr.ts', 'nodes/shared/media/tools.ts']) {
		const source = await readFile(join(ROOT, file), 'utf8');
		const { outputText } = ts.transpileModule(source, {
			compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
		});
		const target = join(out, file.replace(/\.ts$/, '.js'));
		await mkdir(dirname(target), { recursive: true });
		await writeFile(target, outputText);
	}
	return join(out, 'nodes/shared/pii/ocr.js');
}

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'cx-ocr-test-'));
});
afterAll(async () => {
	await closeAllOcrPools();
	await rm(dir, { recursive: true, force: true });
});

describe('language data stays local', () => {
	test('an empty langPath folder is an OcrLanguageError naming the folder and the language, before any worker starts', async () => {
		const empty = await mkdtemp(join(dir, 'empty-'));
		const { outcome, starts } = await countStarts(() => OcrPool.create({ langPath: empty, workers: 1 }));
		expect(outcome.status).toBe('rejected');
		const error = (outcome as PromiseRejectedResult).reason;
		expect(error).toBeInstanceOf(OcrLanguageError);
		expect(error.message).toContain(empty);
		expect(error.message).toContain('"eng"');
		expect(error).toMatchObject({ language: 'eng', path: empty });
		expect(starts).toBe(0);
	});

	test('a URL, an unknown language, a malformed code and corrupt files are refused without a worker', async () => {
		const corrupt = await mkdtemp(join(dir, 'corrupt-'));
		await writeFile(join(corrupt, 'eng.traineddata.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(4096, 7)]));
		const noise = await mkdtemp(join(dir, 'noise-'));
		await writeFile(join(noise, 'eng.traineddata'), Buffer.alloc(8192, 0x41));
		const { outcome, starts } = await countStarts(async () => {
			await expect(
				OcrPool.create({ langPath: 'https://cdn.jsdelivr.net/npm/@tesseract.js-data/eng/4.0.0_best_int' }),
			).rejects.toThrow(/is a URL.*nothing is downloaded/);
			await expect(OcrPool.create({ language: 'zzz' })).rejects.toThrow(/@tesseract\.js-data\/zzz is not installed/);
			await expect(OcrPool.create({ language: '../eng' })).rejects.toBeInstanceOf(OcrLanguageError);
			await expect(sharedOcrPool({ language: 'eng+deu' })).rejects.toThrow(/need a language data path/);
			await expect(OcrPool.create({ langPath: corrupt })).rejects.toThrow(/eng\.traineddata\.gz for "eng" is not a valid gzip file/);
			await expect(OcrPool.create({ langPath: noise })).rejects.toThrow(/eng\.traineddata for "eng" is unusable/);
		});
		expect(outcome.status).toBe('fulfilled');
		expect(starts).toBe(0);
	});

	test('in a plain Node process, data that tesseract itself rejects is an error: the thread ends and the process exits', async () => {
		// Valid table of contents, damaged LSTM model: passes the checks, then aborts inside tesseract's wasm.
		const data = gunzipSync(await readFile(BEST_INT));
		const lstm = Number(data.readBigInt64LE(4 + 8 * 17));
		data.fill(0x55, lstm, lstm + 200_000);
		const damaged = await mkdtemp(join(dir, 'damaged-'));
		await writeFile(join(damaged, 'eng.traineddata'), data);
		const script = `
			const { OcrPool } = require(${JSON.stringify(await transpiledModule())});
			const exits = [];
			process.on('worker', (thread) => exits.push(new Promise((done) => thread.once('exit', done))));
			OcrPool.create({ workers: 1, langPath: ${JSON.stringify(damaged)} }).then(
				() => console.log(JSON.stringify({ started: true })),
				async (error) => { await Promise.all(exits); console.log(JSON.stringify({ name: error.name, message: error.message, threads: exits.length })); },
			);`;
		const child = spawnSync(process.execPath, ['-e', script], {
			encoding: 'utf8',
			timeout: 45_000,
			env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
		});
		expect(child.status).toBe(0);
		const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
		expect(report).toMatchObject({ name: 'OcrLanguageError', threads: 1 });
		expect(report.message).toContain(damaged);
	});
});

describe('a shared pool with the packaged English data', () => {
	let pool: OcrPool;
	let card: Buffer;

	beforeAll(async () => {
		card = await draw(CARD_IMAGE);
		pool = await sharedOcrPool({ workers: 2 });
	});

	test('uses the best_int data from @tesseract.js-data/eng, sparse-text mode, and is reused', async () => {
		expect(pool.settings).toMatchObject({ language: 'eng', gzip: true, workers: 2, psm: 11 });
		expect(pool.settings.langPath).toMatch(/@tesseract\.js-data[\\/]eng[\\/]4\.0\.0_best_int$/);
		expect(await sharedOcrPool({ workers: 2 })).toBe(pool);
	});

	test('reads words with boxes, confidences and line ids', async () => {
		const page = await pool.recognize(card);
		expectPlausibleBoxes(page, 1280, 300);
		const cardWord = page.words.find((word) => word.text === 'Card');
		expect(cardWord).toBeDefined();
		const cardLine = page.words.filter((word) => word.lineId === cardWord?.lineId);
		const digits = cardLine.filter((word) => /^\d+$/.test(word.text));
		expect(digits.map((word) => word.text).join('')).toBe('4111111111111111');
		for (const word of digits) expect(word.box.x0).toBeGreaterThan(cardWord!.box.x1);
		// The first line was drawn at y=30 in 28 px text.
		expect(cardWord!.box.y0).toBeGreaterThanOrEqual(25);
		expect(cardWord!.box.y1).toBeLessThanOrEqual(65);

		const email = page.words.find((word) => word.text === 'jane.doe@example.com');
		const emailLabel = page.words.find((word) => word.text === 'Email');
		expect(email?.lineId).toBe(emailLabel?.lineId);
		expect(email?.lineId).not.toBe(cardWord?.lineId);
		expect(email!.box.y0).toBeGreaterThan(cardWord!.box.y1);

		// The 14 px line.
		expect(lineTexts(page).map(compact)).toContain('Phone+1415-555-0132');
	});

	test('reads light text on a dark background', async () => {
		const page = await pool.recognize(
			await draw({
				...CARD_IMAGE,
				background: '0x1e1e1e',
				color: '0xe0e0e0',
			}),
		);
		expectPlausibleBoxes(page, 1280, 300);
		const lines = lineTexts(page).map(compact);
		expect(lines).toContain('Cardnumber4111111111111111');
		expect(lines).toContain('Emailjane.doe@example.com');
	});

	test('a 1080p gray PGM form with 13 px text: every value read, boxes in the frame\'s own pixels', async () => {
		const { picture, valueX, rowY } = formPicture(13, 'pgm');
		const frame = await draw(picture);
		expect(imageSize(frame)).toEqual({ width: 1920, height: 1080 });
		const page = await pool.recognize(frame);
		expectPlausibleBoxes(page, 1920, 1080);
		const lines = lineTexts(page).map(compact);
		for (const [, value] of FORM_FIELDS) expect(lines.join('\n')).toContain(compact(value));
		const email = page.words.find((word) => word.text === 'jane.doe@example.com');
		// drawtext places the text's top-left at (valueX, row y); the box is in input pixels, not upscaled ones.
		expect(Math.abs(email!.box.x0 - valueX)).toBeLessThanOrEqual(4);
		expect(Math.abs(email!.box.y0 - rowY[4])).toBeLessThanOrEqual(6);
	});

	test('two images at once on two workers both succeed', async () => {
		const dark = await draw({ ...CARD_IMAGE, background: '0x2d2d30', color: 'white' });
		const [first, second] = await Promise.all([pool.recognize(card), pool.recognize(dark)]);
		for (const page of [first, second]) {
			expect(lineTexts(page).map(compact)).toContain('Emailjane.doe@example.com');
		}
	});

	test('a file path is read from disk; a URL string is a path too and is never fetched', async () => {
		const file = join(dir, 'card.png');
		await writeFile(file, card);
		const page = await pool.recognize(file);
		expect(page.words.some((word) => word.text === 'jane.doe@example.com')).toBe(true);
		await expect(pool.recognize('https://example.com/frame.png')).rejects.toThrow(
			/Cannot read image https:\/\/example\.com\/frame\.png: ENOENT/,
		);
	});

	test('an unreadable image rejects that call; its worker is replaced and the pool keeps working', async () => {
		const failure = await pool.recognize(Buffer.from('not an image')).catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(OcrError);
		expect(failure).toMatchObject({ reason: 'image' });
		const { outcome, starts } = await countStarts(() => Promise.all([pool.recognize(card), pool.recognize(card)]));
		expect(outcome.status).toBe('fulfilled');
		expect(starts).toBe(1);
		for (const page of (outcome as PromiseFulfilledResult<OcrPage[]>).value) {
			expect(page.words.some((word) => word.text === 'Card')).toBe(true);
		}
	});
});

describe('close', () => {
	test('is idempotent; jobs in flight and later calls reject as closed', async () => {
		const pool = await OcrPool.create({ workers: 1, upscale: 1 });
		const image = await draw(CARD_IMAGE);
		const page = await pool.recognize(image);
		expect(page.words.some((word) => word.text === 'Card')).toBe(true);

		// A 1080p frame keeps the worker busy for a few hundred ms: close while it is being read.
		const frame = await draw(formPicture(20).picture);
		const inFlight = pool.recognize(frame).catch((error: unknown) => error);
		await new Promise((done) => setTimeout(done, 150));
		await Promise.all([pool.close(), pool.close()]);
		await pool.close();
		expect(await inFlight).toMatchObject({ reason: 'closed', message: 'The OCR pool is closed' });
		await expect(pool.recognize(image)).rejects.toThrow('The OCR pool is closed');
		expect(pool.closed).toBe(true);
	});

	test('a closed shared pool is replaced by a new one on the next request', async () => {
		const options = { workers: 1, upscale: 1, psm: 3 as const };
		const first = await sharedOcrPool(options);
		await first.close();
		const second = await sharedOcrPool(options);
		expect(second).not.toBe(first);
		expect(second.closed).toBe(false);
		await closeAllOcrPools();
		expect(second.closed).toBe(true);
	});
});

describe('imageSize', () => {
	test('reads PNG, JPEG, BMP and PGM headers', async () => {
		const png = await draw({ width: 320, height: 120, background: 'white', color: 'black', texts: [] });
		const sizes = [png];
		for (const codec of ['mjpeg', 'bmp', 'pgm']) {
			const file = join(dir, `size.${codec}`);
			execFileSync(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-y', '-i', 'pipe:0', '-c:v', codec, '-pix_fmt', codec === 'pgm' ? 'gray' : codec === 'mjpeg' ? 'yuvj420p' : 'bgr24', '-f', 'image2', file], { input: png });
			sizes.push(await readFile(file));
		}
		for (const bytes of sizes) expect(imageSize(bytes)).toEqual({ width: 320, height: 120 });
		expect(imageSize(Buffer.from('not an image'))).toBeUndefined();
	});
});
