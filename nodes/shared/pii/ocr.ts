import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Worker as NodeWorker } from 'node:worker_threads';
import { gunzip } from 'node:zlib';

import { createWorker, OEM, type Page, type PSM, type Worker as TesseractWorker } from 'tesseract.js';

import { resolveTool, runTool, type ToolInfo } from '../media/tools';
import type { OcrWord } from './detectors';

/**
 * Offline OCR with tesseract.js 7: a pool of worker threads that read word boxes from screen frames.
 *
 * Language data is read only from a local folder (by default the one npm installed with
 * `@tesseract.js-data/<language>`) and is checked before any worker starts: without `langPath` tesseract.js
 * downloads from a CDN, and a worker that fails to load its data ends the process (without `errorHandler`) or
 * never settles (with one).
 */

/** Page segmentation modes that return words without the OSD data file: 3 automatic, 4 one column, 6 one block, 11 sparse text. */
export type OcrPageSegMode = 3 | 4 | 6 | 11;

/**
 * Sparse text. On a 1920×1080 form with a sidebar (12–20 px text, light and dark), mode 11 matched as many or
 * more of the expected words as mode 3 at every size and found more of the PII values at 12–14 px, at about the
 * same speed; mode 3 merged sidebar items into form lines ("Cases Name Jane Q. Doe").
 */
export const DEFAULT_PSM: OcrPageSegMode = 11;

/**
 * At 1080p, 12–14 px text lost characters at scale 1 (`jane doe@…`, `12345-6789`, `$120.95`) and every value
 * was read at 1.5 and at 2; 16–28 px text read the same at 1 and 1.5. Scale 1.5 costs 20–45 % more OCR time.
 */
export const DEFAULT_UPSCALE = 1.5;

const DEFAULT_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 60_000;
const MAX_WORKERS = 16;
const MAX_UPSCALE = 4;
/** Upscaling stops at this size (3840×2160): bigger frames do not need it, and memory stays bounded. */
const MAX_UPSCALED_PIXELS = 3840 * 2160;
const MAX_IMAGE_BYTES = 64 * 1048576;
const LANGUAGE_CODE = /^[A-Za-z0-9_]+$/;
const gunzipAsync = promisify(gunzip);

export interface OcrOptions {
	/** Tesseract language code, or several joined with `+` (their files in one `langPath` folder); default `eng`. */
	language?: string;
	/**
	 * Folder holding `<language>.traineddata.gz` or `<language>.traineddata`. Default: the `4.0.0_best_int`
	 * folder of the `@tesseract.js-data/<language>` package. A URL is refused: nothing is downloaded.
	 */
	langPath?: string;
	/** OCR threads, i.e. images recognised at once; default min(2, available CPUs). */
	workers?: number;
	/** Page segmentation mode; default {@link DEFAULT_PSM} (11, sparse text). */
	psm?: OcrPageSegMode;
	/**
	 * Enlarge the image (gray, bilinear) by this factor, 1–4, before OCR; boxes are mapped back to the original.
	 * Default {@link DEFAULT_UPSCALE}. PGM (P5) input is scaled in-process; other formats are decoded with ffmpeg.
	 */
	upscale?: number;
	/** A recognition still running after this long is abandoned and its worker replaced; default 60 000. */
	timeoutMs?: number;
}

export interface OcrPage {
	words: OcrWord[];
	/** Tesseract's mean word confidence, 0..100 (0 when no text was found). */
	meanConfidence: number;
	/** Preprocessing and recognition time, without the wait for a free worker. */
	ms: number;
	/** Size of the input image, when its header could be read (PNG, JPEG, BMP, PNM). */
	width?: number;
	height?: number;
}

/** The settings a pool runs with. */
export interface OcrPoolSettings {
	language: string;
	/** Absolute folder the language data is read from. */
	langPath: string;
	/** Whether the data files are gzipped (`.traineddata.gz`). */
	gzip: boolean;
	workers: number;
	psm: OcrPageSegMode;
	upscale: number;
	timeoutMs: number;
}

/** Language data missing, unreadable or refused: names the language and the path. */
export class OcrLanguageError extends Error {
	constructor(
		message: string,
		readonly language: string,
		readonly path: string,
	) {
		super(message);
		this.name = 'OcrLanguageError';
	}
}

export type OcrFailure = 'closed' | 'image' | 'worker' | 'timeout';

/** A recognition that failed: the pool is closed, the image is unreadable, or the worker died or timed out. */
export class OcrError extends Error {
	constructor(
		message: string,
		readonly reason: OcrFailure,
	) {
		super(message);
		this.name = 'OcrError';
	}
}

const closedError = () => new OcrError('The OCR pool is closed', 'closed');

function reasonText(reason: unknown): string {
	if (reason instanceof Error) return reason.message;
	return String(reason).replace(/^Error: /, '');
}

type BaseSettings = Omit<OcrPoolSettings, 'gzip'>;

function resolveOptions(options: OcrOptions): BaseSettings {
	const language = (options.language ?? 'eng').trim() || 'eng';
	const languages = language.split('+');
	for (const code of languages) {
		if (!LANGUAGE_CODE.test(code)) {
			throw new OcrLanguageError(`"${language}" is not a tesseract language code (such as eng or chi_sim)`, language, '');
		}
	}
	let langPath: string;
	const explicit = options.langPath?.trim();
	if (explicit) {
		// tesseract.js would fetch a URL (http, file); only a folder on this machine is accepted.
		if (/^[a-z][a-z0-9+.-]+:/i.test(explicit)) {
			throw new OcrLanguageError(
				`OCR language data path ${explicit} is a URL; give a local folder holding ${languages[0]}.traineddata(.gz), nothing is downloaded`,
				language,
				explicit,
			);
		}
		langPath = resolve(explicit);
	} else {
		if (languages.length > 1) {
			throw new OcrLanguageError(
				`Several OCR languages (${language}) need a language data path: one folder holding all their .traineddata files`,
				language,
				'',
			);
		}
		const packageName = `@tesseract.js-data/${language}`;
		try {
			langPath = join(dirname(require.resolve(`${packageName}/package.json`)), '4.0.0_best_int');
		} catch {
			throw new OcrLanguageError(
				`No OCR language data for "${language}": the package ${packageName} is not installed; install it or set the language data path to a folder holding ${language}.traineddata(.gz)`,
				language,
				packageName,
			);
		}
	}

	const workers = options.workers ?? Math.min(2, availableParallelism());
	if (!Number.isFinite(workers)) throw new RangeError(`OCR workers must be a number, got ${options.workers}`);
	const psm = options.psm ?? DEFAULT_PSM;
	if (![3, 4, 6, 11].includes(psm)) throw new RangeError(`OCR page segmentation mode must be 3, 4, 6 or 11, got ${psm}`);
	const upscale = options.upscale ?? DEFAULT_UPSCALE;
	if (!Number.isFinite(upscale) || upscale < 1 || upscale > MAX_UPSCALE) {
		throw new RangeError(`OCR upscale must be between 1 and ${MAX_UPSCALE}, got ${options.upscale}`);
	}
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`OCR timeout must be positive, got ${options.timeoutMs}`);
	return {
		language,
		langPath,
		workers: Math.min(MAX_WORKERS, Math.max(1, Math.floor(workers))),
		psm,
		upscale,
		timeoutMs,
	};
}

/** Index of the LSTM model in a traineddata file's table of contents (tesseract's TESSDATA_LSTM). */
const TESSDATA_LSTM = 17;

/**
 * Why `data` (an unpacked traineddata file) cannot serve the LSTM engine, or undefined when it can. The file
 * starts with an int32 entry count and an int64 offset per entry (-1 = absent), in ascending order.
 */
function traineddataProblem(data: Buffer): string | undefined {
	if (data.length < 12) return `${data.length} bytes is too short`;
	const entries = data.readInt32LE(0);
	const tableEnd = 4 + 8 * entries;
	if (entries <= TESSDATA_LSTM || entries > 64 || tableEnd > data.length) return 'its table of contents is not a traineddata one';
	let previous = tableEnd;
	for (let entry = 0; entry < entries; entry++) {
		const offset = Number(data.readBigInt64LE(4 + 8 * entry));
		if (offset === -1) continue;
		if (offset < previous || offset >= data.length) return 'its table of contents points outside the file';
		previous = offset;
	}
	if (Number(data.readBigInt64LE(4 + 8 * TESSDATA_LSTM)) === -1) return 'it has no LSTM model (legacy-only data)';
	return undefined;
}

/**
 * Reads, unpacks and checks every language file here, because a worker that fails to load one neither
 * rejects nor ends (see startThread).
 */
async function checkLanguageData(language: string, langPath: string): Promise<boolean> {
	const compression = new Set<boolean>();
	for (const code of language.split('+')) {
		let found = false;
		for (const gzip of [true, false]) {
			const file = join(langPath, `${code}.traineddata${gzip ? '.gz' : ''}`);
			let data: Buffer;
			try {
				data = await readFile(file);
			} catch (error) {
				if (error.code === 'ENOENT' || error.code === 'ENOTDIR') continue;
				throw new OcrLanguageError(`OCR language data ${file} for "${code}" cannot be read: ${error.code ?? error.message}`, code, file);
			}
			if (gzip) {
				try {
					data = await gunzipAsync(data);
				} catch (error) {
					throw new OcrLanguageError(`OCR language data ${file} for "${code}" is not a valid gzip file: ${error.message}`, code, file);
				}
			}
			const problem = traineddataProblem(data);
			if (problem) {
				throw new OcrLanguageError(`OCR language data ${file} for "${code}" is unusable: ${problem}`, code, file);
			}
			compression.add(gzip);
			found = true;
			break;
		}
		if (!found) {
			throw new OcrLanguageError(
				`OCR language data for "${code}" not found: neither ${code}.traineddata.gz nor ${code}.traineddata in ${langPath}`,
				code,
				langPath,
			);
		}
	}
	if (compression.size > 1) {
		throw new OcrLanguageError(`OCR languages ${language} in ${langPath} mix .traineddata and .traineddata.gz; use one kind`, language, langPath);
	}
	return compression.has(true);
}

const nextTick = () => new Promise<void>((done) => process.nextTick(done));

/** One tesseract.js worker and the Node thread it runs in. */
class OcrThread {
	private failJob?: (error: Error) => void;
	private stoppedBy?: Error;

	constructor(
		private readonly worker: TesseractWorker,
		private readonly thread: NodeWorker | undefined,
	) {
		// Without an 'error' listener a crashed thread's error is thrown in the main thread.
		thread?.on('error', (error) => this.stop(new OcrError(`The OCR worker crashed: ${error.message}`, 'worker')));
		thread?.on('exit', (code) => this.stop(new OcrError(`The OCR worker stopped (exit code ${code})`, 'worker')));
		// An idle pool does not keep the process alive; a running job does (ref below).
		thread?.unref();
	}

	get alive(): boolean {
		return this.stoppedBy === undefined;
	}

	recognize(image: Buffer, timeoutMs: number): Promise<Page> {
		if (this.stoppedBy) return Promise.reject(this.stoppedBy);
		this.thread?.ref();
		return new Promise<Page>((resolvePage, reject) => {
			let settled = false;
			const finish = (error: Error | undefined, page?: Page) => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				this.failJob = undefined;
				this.thread?.unref();
				if (error) reject(error);
				else resolvePage(page as Page);
			};
			const timer = setTimeout(
				() => finish(new OcrError(`OCR of one image took longer than ${Math.round(timeoutMs / 1000)} s; its worker is replaced`, 'timeout')),
				timeoutMs,
			);
			this.failJob = (error) => finish(error);
			this.worker.recognize(image, {}, { blocks: true, text: false }).then(
				(result) => finish(undefined, result.data),
				(reason: unknown) => finish(new OcrError(`OCR failed: ${reasonText(reason)}`, 'image')),
			);
		});
	}

	/** Fails the job in flight with `reason` and ends the thread. */
	async stop(reason: Error): Promise<void> {
		const first = this.stoppedBy === undefined;
		this.stoppedBy ??= reason;
		this.failJob?.(this.stoppedBy);
		if (!first) return;
		await this.worker.terminate().catch(() => undefined);
		await this.thread?.terminate().catch(() => undefined);
	}
}

function startError(settings: OcrPoolSettings, reason: unknown): Error {
	const text = reasonText(reason);
	// While starting, tesseract.js reports through errorHandler what failed in reading, unzipping or initialising
	// the language data; a broken engine install shows up as a missing core or wasm module instead.
	if (/tesseract-core|wasm|memory/i.test(text)) return new OcrError(`The OCR worker failed to start: ${text}`, 'worker');
	return new OcrLanguageError(
		`Tesseract could not load OCR language "${settings.language}" from ${settings.langPath}: ${text}`,
		settings.language,
		settings.langPath,
	);
}

/**
 * Starts one worker. When a start fails, tesseract.js reports it through `errorHandler` but neither settles
 * `createWorker` nor ends the thread, and it exposes the thread only after a successful start. So the thread is
 * taken from Node's process 'worker' announcement, to hear its errors while starting and to end it on failure.
 * That event reaches only the real `process` object; where a sandbox replaces it (jest), a failed start leaves
 * an idle thread behind, which the checks in checkLanguageData make unlikely.
 */
async function startThread(settings: OcrPoolSettings, cachePath: string): Promise<OcrThread> {
	const announced: NodeWorker[] = [];
	const onThread = (thread: NodeWorker) => announced.push(thread);
	let fail: (error: Error) => void = () => undefined;
	const failed = new Promise<never>((_, reject) => {
		fail = reject;
	});
	failed.catch(() => undefined);
	let started: OcrThread | undefined;

	process.on('worker', onThread);
	const creating = createWorker(settings.language, OEM.LSTM_ONLY, {
		langPath: settings.langPath,
		gzip: settings.gzip,
		// 'none': never read or write ./<lang>.traineddata in the working directory.
		cacheMethod: 'none',
		cachePath,
		logger: () => undefined,
		errorHandler: (reason: unknown) => {
			if (!started) fail(startError(settings, reason));
		},
	});
	// tesseract.js spawns its thread synchronously, and Node announces each new thread with process 'worker' on a
	// later tick in creation order: ours is the last one announced before this tick runs.
	await new Promise<void>((done) =>
		process.nextTick(() => {
			process.off('worker', onThread);
			done();
		}),
	);
	const thread = announced[announced.length - 1];
	const onError = (error: Error) => fail(new OcrError(`The OCR worker crashed while starting: ${error.message}`, 'worker'));
	const onExit = (code: number) => fail(new OcrError(`The OCR worker exited while starting (code ${code})`, 'worker'));
	thread?.on('error', onError);
	thread?.on('exit', onExit);
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new OcrError(`The OCR worker did not start within ${START_TIMEOUT_MS / 1000} s`, 'timeout')), START_TIMEOUT_MS);
	});
	timedOut.catch(() => undefined);

	try {
		const worker = await Promise.race([creating, failed, timedOut]);
		await Promise.race([
			worker.setParameters({
				tessedit_pageseg_mode: String(settings.psm) as PSM,
				// Mode 11 prints "Estimating resolution as N" to stdout for images without a DPI.
				debug_file: '/dev/null',
			}),
			failed,
			timedOut,
		]);
		const exposed = (worker as unknown as { worker?: unknown }).worker;
		started = new OcrThread(worker, exposed instanceof NodeWorker ? exposed : thread);
		return started;
	} catch (error) {
		await thread?.terminate().catch(() => undefined);
		throw error;
	} finally {
		clearTimeout(timer);
		thread?.off('error', onError);
		thread?.off('exit', onExit);
	}
}

interface PreparedImage {
	image: Buffer;
	/** Factors from input pixels to the pixels tesseract saw. */
	scaleX: number;
	scaleY: number;
	width?: number;
	height?: number;
}

/** Reads the pixel size from the header of a PNG, JPEG, BMP or PNM image. */
export function imageSize(image: Buffer): { width: number; height: number } | undefined {
	if (image.length >= 24 && image.readUInt32BE(0) === 0x89504e47 && image.toString('latin1', 12, 16) === 'IHDR') {
		return { width: image.readUInt32BE(16), height: image.readUInt32BE(20) };
	}
	if (image.length >= 26 && image[0] === 0x42 && image[1] === 0x4d) {
		return { width: Math.abs(image.readInt32LE(18)), height: Math.abs(image.readInt32LE(22)) };
	}
	const pnm = parsePnmHeader(image);
	if (pnm) return { width: pnm.width, height: pnm.height };
	if (image.length >= 4 && image[0] === 0xff && image[1] === 0xd8) {
		let at = 2;
		while (at + 9 < image.length) {
			if (image[at] !== 0xff) return undefined;
			const marker = image[at + 1];
			if (marker === 0xff) {
				at++;
				continue;
			}
			// SOF0–SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
			if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
				return { width: image.readUInt16BE(at + 7), height: image.readUInt16BE(at + 5) };
			}
			at += 2 + image.readUInt16BE(at + 2);
		}
	}
	return undefined;
}

interface PnmHeader {
	kind: string;
	width: number;
	height: number;
	maxValue: number;
	dataOffset: number;
}

function parsePnmHeader(image: Buffer): PnmHeader | undefined {
	if (image.length < 8 || image[0] !== 0x50 || image[1] < 0x31 || image[1] > 0x36) return undefined;
	const head = image.toString('latin1', 0, Math.min(image.length, 512));
	const match = /^P([1-6])(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:(?:\s|#[^\n]*\n)+(\d+))?\s/.exec(head);
	if (!match) return undefined;
	return {
		kind: `P${match[1]}`,
		width: Number(match[2]),
		height: Number(match[3]),
		maxValue: Number(match[4] ?? 1),
		dataOffset: match[0].length,
	};
}

interface GrayImage {
	width: number;
	height: number;
	pixels: Uint8Array;
}

/** An 8-bit binary PGM (what the frame sampler produces), or undefined for anything else. */
function readPgm(image: Buffer): GrayImage | undefined {
	const header = parsePnmHeader(image);
	if (!header || header.kind !== 'P5' || header.maxValue > 255) return undefined;
	const size = header.width * header.height;
	if (image.length - header.dataOffset < size) return undefined;
	return { width: header.width, height: header.height, pixels: image.subarray(header.dataOffset, header.dataOffset + size) };
}

/** Bilinear resize of a gray image to `width`×`height`, as a PGM. */
function resizeGray(source: GrayImage, width: number, height: number): Buffer {
	const header = Buffer.from(`P5\n${width} ${height}\n255\n`, 'latin1');
	const out = Buffer.allocUnsafe(header.length + width * height);
	header.copy(out);
	const { pixels, width: sourceWidth, height: sourceHeight } = source;
	const stepX = sourceWidth / width;
	const stepY = sourceHeight / height;
	const left = new Int32Array(width);
	const right = new Int32Array(width);
	const weightX = new Float64Array(width);
	for (let x = 0; x < width; x++) {
		const at = Math.max(0, (x + 0.5) * stepX - 0.5);
		left[x] = Math.min(sourceWidth - 1, Math.floor(at));
		right[x] = Math.min(sourceWidth - 1, left[x] + 1);
		weightX[x] = at - left[x];
	}
	let offset = header.length;
	for (let y = 0; y < height; y++) {
		const at = Math.max(0, (y + 0.5) * stepY - 0.5);
		const top = Math.min(sourceHeight - 1, Math.floor(at));
		const weightY = at - top;
		const upper = top * sourceWidth;
		const lower = Math.min(sourceHeight - 1, top + 1) * sourceWidth;
		for (let x = 0; x < width; x++) {
			const a = pixels[upper + left[x]];
			const b = pixels[upper + right[x]];
			const c = pixels[lower + left[x]];
			const d = pixels[lower + right[x]];
			const high = a + (b - a) * weightX[x];
			const low = c + (d - c) * weightX[x];
			out[offset++] = high + (low - high) * weightY + 0.5;
		}
	}
	return out;
}

/** An 8-bit PGM enlarged (bilinear) by `factor`; undefined when `pgm` is not one. */
export function scalePgm(pgm: Buffer, factor: number): Buffer | undefined {
	const gray = readPgm(pgm);
	if (!gray) return undefined;
	return resizeGray(gray, Math.max(1, Math.round(gray.width * factor)), Math.max(1, Math.round(gray.height * factor)));
}

async function loadImage(image: string | Buffer): Promise<Buffer> {
	let bytes: Buffer;
	if (typeof image === 'string') {
		// Read here: tesseract.js would fetch a string that looks like a URL.
		try {
			bytes = await readFile(image);
		} catch (error) {
			throw new OcrError(`Cannot read image ${image}: ${error.code ?? error.message}`, 'image');
		}
	} else if (Buffer.isBuffer(image)) {
		bytes = image;
	} else {
		throw new OcrError('The image must be a file path or a Buffer', 'image');
	}
	if (bytes.length === 0) throw new OcrError('The image is empty', 'image');
	if (bytes.length > MAX_IMAGE_BYTES) {
		throw new OcrError(`The image is ${bytes.length} bytes; at most ${MAX_IMAGE_BYTES} are accepted`, 'image');
	}
	return bytes;
}

function clampConfidence(value: unknown): number {
	const number = typeof value === 'number' && Number.isFinite(value) ? value : 0;
	return Math.min(100, Math.max(0, number));
}

function toOcrPage(page: Page, prepared: PreparedImage, ms: number): OcrPage {
	const { scaleX, scaleY, width, height } = prepared;
	const limit = (value: number, max: number | undefined) => Math.max(0, max === undefined ? value : Math.min(max, value));
	const words: OcrWord[] = [];
	(page.blocks ?? []).forEach((block, b) =>
		block.paragraphs.forEach((paragraph, p) =>
			paragraph.lines.forEach((line, l) => {
				for (const word of line.words) {
					const text = word.text.trim();
					if (!text) continue;
					words.push({
						text,
						confidence: clampConfidence(word.confidence),
						box: {
							x0: limit(Math.floor(word.bbox.x0 / scaleX), width),
							y0: limit(Math.floor(word.bbox.y0 / scaleY), height),
							x1: limit(Math.ceil(word.bbox.x1 / scaleX), width),
							y1: limit(Math.ceil(word.bbox.y1 / scaleY), height),
						},
						lineId: `b${b}.p${p}.l${l}`,
					});
				}
			}),
		),
	);
	const result: OcrPage = { words, meanConfidence: clampConfidence(page.confidence), ms };
	if (width !== undefined && height !== undefined) {
		result.width = width;
		result.height = height;
	}
	return result;
}

/**
 * A fixed number of tesseract.js workers; `recognize` calls queue for a free one (first come, first served).
 * A worker whose job failed, timed out or whose thread died is replaced on its next job.
 */
export class OcrPool {
	private readonly slots: Array<OcrThread | undefined>;
	private readonly free: number[] = [];
	private readonly waiting: Array<{ take: (slot: number) => void; fail: (error: Error) => void }> = [];
	private closing?: Promise<void>;
	private ffmpeg?: ToolInfo;
	/** Called once when the pool closes (the shared registry forgets it). */
	onClose?: () => void;

	private constructor(
		readonly settings: Readonly<OcrPoolSettings>,
		threads: OcrThread[],
		private readonly cachePath: string,
	) {
		this.slots = threads;
		threads.forEach((_, slot) => this.free.push(slot));
	}

	/** Checks the language data, then starts the workers (about 0.3–0.9 s each, in parallel). */
	static async create(options: OcrOptions = {}): Promise<OcrPool> {
		const base = resolveOptions(options);
		const gzip = await checkLanguageData(base.language, base.langPath);
		const settings: OcrPoolSettings = { ...base, gzip };
		// Never written to with cacheMethod 'none'; a private folder all the same.
		const cachePath = await mkdtemp(join(tmpdir(), 'cx-ocr-'));
		const starting: Array<Promise<OcrThread>> = [];
		for (let index = 0; index < settings.workers; index++) {
			starting.push(startThread(settings, cachePath));
			// One start at a time registers its process 'worker' listener.
			await nextTick();
		}
		const outcomes = await Promise.allSettled(starting);
		const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
		if (failure) {
			await Promise.all(
				outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.stop(closedError()) : undefined)),
			);
			await rm(cachePath, { recursive: true, force: true });
			throw failure.reason;
		}
		return new OcrPool(
			settings,
			outcomes.map((outcome) => (outcome as PromiseFulfilledResult<OcrThread>).value),
			cachePath,
		);
	}

	get closed(): boolean {
		return this.closing !== undefined;
	}

	/** Words with boxes in the input image's pixels. `image` is a file path or the bytes of a PNG, JPEG, BMP or PGM. */
	async recognize(image: string | Buffer): Promise<OcrPage> {
		if (this.closing) throw closedError();
		const bytes = await loadImage(image);
		const prepareStarted = Date.now();
		const prepared = await this.prepare(bytes);
		const prepareMs = Date.now() - prepareStarted;
		const slot = await this.acquire();
		const started = Date.now();
		try {
			if (this.closing) throw closedError();
			const thread = await this.threadFor(slot);
			try {
				const page = await thread.recognize(prepared.image, this.settings.timeoutMs);
				return toOcrPage(page, prepared, prepareMs + Date.now() - started);
			} catch (error) {
				if (this.closing) throw closedError();
				// After a failed job the worker's state is unknown (a wasm abort leaves it unusable): replace it.
				this.slots[slot] = undefined;
				void thread.stop(error);
				throw error;
			}
		} finally {
			this.release(slot);
		}
	}

	/** Terminates the workers; jobs in flight or waiting reject with a "closed" error. Safe to call again. */
	close(): Promise<void> {
		this.closing ??= this.shutdown();
		return this.closing;
	}

	private async shutdown(): Promise<void> {
		this.onClose?.();
		this.free.length = 0;
		for (const waiter of this.waiting.splice(0)) waiter.fail(closedError());
		const threads = this.slots.splice(0).filter((thread): thread is OcrThread => thread !== undefined);
		await Promise.all(threads.map((thread) => thread.stop(closedError())));
		await rm(this.cachePath, { recursive: true, force: true });
	}

	private acquire(): Promise<number> {
		if (this.closing) return Promise.reject(closedError());
		const slot = this.free.pop();
		if (slot !== undefined) return Promise.resolve(slot);
		return new Promise((take, fail) => this.waiting.push({ take, fail }));
	}

	private release(slot: number): void {
		if (this.closing) return;
		const next = this.waiting.shift();
		if (next) next.take(slot);
		else this.free.push(slot);
	}

	private async threadFor(slot: number): Promise<OcrThread> {
		const current = this.slots[slot];
		if (current?.alive) return current;
		const replacement = await startThread(this.settings, this.cachePath);
		if (this.closing) {
			await replacement.stop(closedError());
			throw closedError();
		}
		this.slots[slot] = replacement;
		return replacement;
	}

	private async prepare(bytes: Buffer): Promise<PreparedImage> {
		const size = imageSize(bytes);
		const unchanged: PreparedImage = { image: bytes, scaleX: 1, scaleY: 1, ...size };
		if (this.settings.upscale === 1 || !size) return unchanged;
		const factor = Math.min(this.settings.upscale, Math.sqrt(MAX_UPSCALED_PIXELS / (size.width * size.height)));
		if (factor < 1.05) return unchanged;
		const gray = readPgm(bytes) ?? (await this.decodeToGray(bytes, size));
		const width = Math.round(gray.width * factor);
		const height = Math.round(gray.height * factor);
		return {
			image: resizeGray(gray, width, height),
			scaleX: width / gray.width,
			scaleY: height / gray.height,
			width: gray.width,
			height: gray.height,
		};
	}

	/** Any other format goes through ffmpeg once, to 8-bit gray PGM. */
	private async decodeToGray(bytes: Buffer, size: { width: number; height: number }): Promise<GrayImage> {
		try {
			this.ffmpeg ??= resolveTool('ffmpeg');
		} catch (error) {
			throw new OcrError(`Upscaling a non-PGM image needs ffmpeg: ${error.message} (or set upscale to 1)`, 'image');
		}
		let output: Buffer;
		try {
			const result = await runTool(
				this.ffmpeg,
				['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-frames:v', '1', '-vf', 'format=gray', '-f', 'image2pipe', '-c:v', 'pgm', 'pipe:1'],
				{
					timeoutMs: 30_000,
					stdin: Readable.from([bytes]),
					stdout: 'collect',
					maxStdoutBytes: size.width * size.height + 1024,
				},
			);
			output = result.stdout;
		} catch (error) {
			throw new OcrError(`Could not decode the image for upscaling: ${error.message}`, 'image');
		}
		const gray = readPgm(output);
		if (!gray) throw new OcrError('Could not decode the image for upscaling: ffmpeg returned no PGM', 'image');
		return gray;
	}
}

const sharedPools = new Map<string, Promise<OcrPool>>();

/**
 * One pool per (language, langPath, workers, psm, upscale, timeout) in this process, reused across executions
 * because workers take 0.3–0.9 s to start. A pool that fails to start is forgotten, so the next call retries.
 */
export function sharedOcrPool(options: OcrOptions = {}): Promise<OcrPool> {
	let settings: BaseSettings;
	try {
		settings = resolveOptions(options);
	} catch (error) {
		return Promise.reject(error);
	}
	const key = JSON.stringify([settings.language, settings.langPath, settings.workers, settings.psm, settings.upscale, settings.timeoutMs]);
	const existing = sharedPools.get(key);
	if (existing) return existing;
	const creating = OcrPool.create(options).then((pool) => {
		pool.onClose = () => {
			if (sharedPools.get(key) === creating) sharedPools.delete(key);
		};
		return pool;
	});
	creating.catch(() => {
		if (sharedPools.get(key) === creating) sharedPools.delete(key);
	});
	sharedPools.set(key, creating);
	return creating;
}

/** Closes every shared pool (tests, shutdown). */
export async function closeAllOcrPools(): Promise<void> {
	const pools = [...sharedPools.values()];
	sharedPools.clear();
	await Promise.all(pools.map((creating) => creating.then((pool) => pool.close(), () => undefined)));
}
