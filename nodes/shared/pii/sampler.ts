import { once } from 'node:events';
import { Writable } from 'node:stream';

import { networkInputOptions } from '../media/probe';
import { runTool, type ToolInfo } from '../media/tools';

/**
 * Frame sampling for the PII scan: one ffmpeg pass decodes the recording at a fixed interval into 8-bit
 * gray frames on a pipe; each frame is compared with the last frame sent to OCR on a 16×9 grid of cell
 * means. Scene-change filters do not work on screen content (a new form scores like a codec keyframe), so
 * the decision is ours: a frame goes to OCR when any cell changed by more than the threshold, which also
 * catches one new field on an otherwise static screen. Static screens cost one OCR, not one per sample.
 */
export interface SampledFrame {
	index: number;
	atSec: number;
	width: number;
	height: number;
	/** A binary PGM (P5) image: what tesseract reads without any image library. */
	pgm: Buffer;
	/** Share of grid cells that changed since the last frame sent to OCR (1 for the first). */
	changedShare: number;
}

export interface SamplerOptions {
	intervalSec: number;
	/** Mean gray-level difference (0–255) of one grid cell that counts as a change. */
	cellThreshold: number;
	/** Longest time without OCR even when nothing changed (covers slow fades); 0 = never. */
	maxGapSec: number;
	width: number;
	height: number;
	timeoutMs: number;
	signal?: AbortSignal;
}

export interface SamplerStats {
	sampled: number;
	sentToOcr: number;
}

const GRID_COLUMNS = 16;
const GRID_ROWS = 9;

export function cellMeans(gray: Uint8Array, width: number, height: number): Float64Array {
	const sums = new Float64Array(GRID_COLUMNS * GRID_ROWS);
	const counts = new Float64Array(GRID_COLUMNS * GRID_ROWS);
	// Every 2nd pixel of every 2nd row is plenty for a change test and halves the work.
	for (let y = 0; y < height; y += 2) {
		const row = Math.min(GRID_ROWS - 1, Math.floor((y * GRID_ROWS) / height));
		const offset = y * width;
		for (let x = 0; x < width; x += 2) {
			const cell = row * GRID_COLUMNS + Math.min(GRID_COLUMNS - 1, Math.floor((x * GRID_COLUMNS) / width));
			sums[cell] += gray[offset + x];
			counts[cell]++;
		}
	}
	for (let cell = 0; cell < sums.length; cell++) sums[cell] = counts[cell] ? sums[cell] / counts[cell] : 0;
	return sums;
}

export function changedShare(previous: Float64Array | undefined, current: Float64Array, threshold: number, ignore?: Uint8Array): number {
	if (!previous) return 1;
	let changed = 0;
	for (let cell = 0; cell < current.length; cell++) {
		if (ignore?.[cell]) continue;
		if (Math.abs(current[cell] - previous[cell]) >= threshold) changed++;
	}
	return changed / current.length;
}

/** Consecutive samples after which a cell that changes every time (a clock, an animated widget) is ignored. */
export const VOLATILE_AFTER = 3;

/**
 * Tracks cells that change at every sample. They would send every frame to OCR; they are left out of the
 * change test until they hold still again. New text elsewhere still triggers OCR, and the maximum OCR gap
 * bounds what a volatile cell could hide.
 */
export class VolatileCells {
	private readonly streaks = new Uint8Array(GRID_COLUMNS * GRID_ROWS);
	readonly mask = new Uint8Array(GRID_COLUMNS * GRID_ROWS);
	private previous: Float64Array | undefined;

	update(current: Float64Array, threshold: number): void {
		if (this.previous) {
			for (let cell = 0; cell < current.length; cell++) {
				const moved = Math.abs(current[cell] - this.previous[cell]) >= threshold;
				this.streaks[cell] = moved ? Math.min(255, this.streaks[cell] + 1) : 0;
				this.mask[cell] = this.streaks[cell] >= VOLATILE_AFTER ? 1 : 0;
			}
		}
		this.previous = current;
	}
}

/**
 * Encoder ghosts (faint remnants of the previous screen that a realtime VP8 stream refines only slowly) make
 * tesseract read garbage over otherwise crisp text. Each 32×32 tile's pixels within `tolerance` of the tile's
 * most common value (its background) are set to it; text differs far more and stays.
 */
export function snapBackground(gray: Uint8Array, width: number, height: number, tolerance = 24): void {
	const tile = 32;
	const histogram = new Uint32Array(256);
	for (let top = 0; top < height; top += tile) {
		const bottom = Math.min(height, top + tile);
		for (let left = 0; left < width; left += tile) {
			const right = Math.min(width, left + tile);
			histogram.fill(0);
			for (let y = top; y < bottom; y++) for (let x = left, i = y * width + left; x < right; x++, i++) histogram[gray[i]]++;
			let background = 0;
			for (let value = 1; value < 256; value++) if (histogram[value] > histogram[background]) background = value;
			for (let y = top; y < bottom; y++) {
				for (let x = left, i = y * width + left; x < right; x++, i++) if (Math.abs(gray[i] - background) <= tolerance) gray[i] = background;
			}
		}
	}
}

function pgm(gray: Uint8Array, width: number, height: number): Buffer {
	const header = Buffer.from(`P5\n${width} ${height}\n255\n`, 'latin1');
	return Buffer.concat([header, gray]);
}

/**
 * Decodes `input` once and calls `onFrame` for each frame worth OCR, in order. `onFrame` may be slow (OCR):
 * ffmpeg is paused through the pipe's backpressure while it runs, so memory stays at a few frames.
 */
export async function sampleFrames(
	ffmpeg: ToolInfo,
	input: string,
	options: SamplerOptions,
	onFrame: (frame: SampledFrame) => Promise<void>,
): Promise<SamplerStats> {
	const { width, height } = options;
	const frameBytes = width * height;
	const stats: SamplerStats = { sampled: 0, sentToOcr: 0 };
	// Pipe chunks are ~64 KiB and a 1080p frame 2 MiB: chunks are kept in a list and each frame is copied once.
	const chunks: Buffer[] = [];
	let buffered = 0;
	const takeFrame = (): Uint8Array => {
		const gray = new Uint8Array(frameBytes);
		let filled = 0;
		while (filled < frameBytes) {
			const chunk = chunks[0];
			const used = Math.min(chunk.length, frameBytes - filled);
			gray.set(chunk.subarray(0, used), filled);
			filled += used;
			if (used === chunk.length) chunks.shift();
			else chunks[0] = chunk.subarray(used);
		}
		buffered -= frameBytes;
		return gray;
	};
	let lastSent: Float64Array | undefined;
	let lastSentAt = -Infinity;
	const volatile = new VolatileCells();
	// The frame right after a change is OCR'd as well: a screen switch is often caught mid-render or blurred
	// by the encoder, and the next sample shows the settled picture.
	let settle = false;

	const sink = new Writable({
		highWaterMark: frameBytes,
		write(chunk: Buffer, _encoding, callback) {
			chunks.push(chunk);
			buffered += chunk.length;
			void (async () => {
				while (buffered >= frameBytes) {
					const gray = takeFrame();
					const index = stats.sampled++;
					const atSec = Math.round(index * options.intervalSec * 1000) / 1000;
					const means = cellMeans(gray, width, height);
					volatile.update(means, options.cellThreshold);
					const share = changedShare(lastSent, means, options.cellThreshold, volatile.mask);
					const stale = options.maxGapSec > 0 && atSec - lastSentAt >= options.maxGapSec;
					const settling = settle;
					settle = share > 0;
					if (share > 0 || stale || settling) {
						lastSent = means;
						lastSentAt = atSec;
						stats.sentToOcr++;
						snapBackground(gray, width, height);
						await onFrame({ index, atSec, width, height, pgm: pgm(gray, width, height), changedShare: share });
					}
				}
			})().then(() => callback(), callback);
		},
	});

	// A failing OCR call stops ffmpeg at once (it would otherwise block on a pipe nobody reads).
	const stop = new AbortController();
	let frameError: Error | undefined;
	sink.on('error', (error) => {
		frameError ??= error;
		stop.abort();
	});
	const onAbort = () => stop.abort();
	options.signal?.addEventListener('abort', onAbort, { once: true });
	const filters = [`fps=1/${options.intervalSec}`, `scale=${width}:${height}:flags=bicubic`, 'format=gray'];
	try {
		await runTool(
			ffmpeg,
			['-hide_banner', '-nostdin', '-v', 'error', ...networkInputOptions(ffmpeg, input), '-i', input, '-map', '0:v:0', '-vf', filters.join(','), '-f', 'rawvideo', 'pipe:1'],
			{ timeoutMs: options.timeoutMs, signal: stop.signal, stdout: sink },
		);
		if (!sink.writableFinished && !frameError) await once(sink, 'finish');
	} catch (error) {
		throw frameError ?? error;
	} finally {
		options.signal?.removeEventListener('abort', onAbort);
	}
	if (frameError) throw frameError;
	return stats;
}
