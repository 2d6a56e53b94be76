import { once } from 'node:events';
import { Writable } from 'node:stream';

import { networkInputOptions } from '../media/probe';
import { runTool, type ToolInfo } from '../media/tools';

/**
 * Frame sampling for the PII scan: one ffmpeg pass decodes the recording at a fixed interval into 8-bit
 * gray frames on a pipe; each frame is compared, on a 16×9 grid of cell means, with what was last read of each
 * cell. Scene-change filters do not work on screen content (a new form scores like a codec keyframe), so the
 * decision is ours, per cell: only the changed cells (plus one cell around them) go to OCR, as one rectangle per
 * group of neighbouring cells. One new field on a static screen costs one small OCR; a static screen costs one
 * OCR in all.
 *
 * A change is read one sample later, on the settled picture: a screen switch is often caught mid-render or
 * blurred by the encoder. If the changed cells look the same on the next sample, that next frame is read (and
 * dated at the change); if they changed again, the frame of the change is read as it was, and the new change
 * is handled in its turn.
 */
export interface SampledFrame {
	index: number;
	/** When what the frame shows appeared (the sample of the change; the pixels may be from the next sample). */
	atSec: number;
	width: number;
	height: number;
	/** A binary PGM (P5) image of the whole frame as decoded: what tesseract reads without any image library. */
	pgm: Buffer;
	/** The parts of the frame to read (pixels, cell-aligned); the whole frame for the first and max-gap reads. */
	regions: Rect[];
	/** True when `regions` is the whole frame. */
	full: boolean;
	/** Share of grid cells that changed since they were last read (1 for a whole-frame read). */
	changedShare: number;
}

/** A rectangle in frame pixels. */
export interface Rect {
	x: number;
	y: number;
	w: number;
	h: number;
}

export interface SamplerOptions {
	intervalSec: number;
	/** Mean gray-level difference (0–255) of one grid cell that counts as a change. */
	cellThreshold: number;
	/** Longest time without a whole-frame OCR even when nothing changed (covers slow fades); 0 = never. */
	maxGapSec: number;
	width: number;
	height: number;
	timeoutMs: number;
	signal?: AbortSignal;
}

export interface SamplerStats {
	sampled: number;
	/** Frames with at least one region read. */
	sentToOcr: number;
	/** Sum of the read regions' areas over the sampled frames' area (1 = every frame read whole). */
	ocrAreaShare: number;
}

export const GRID_COLUMNS = 16;
export const GRID_ROWS = 9;
const CELLS = GRID_COLUMNS * GRID_ROWS;

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

/** Consecutive samples after which a cell that changes every time (a clock, an animated widget) is ignored. */
export const VOLATILE_AFTER = 3;

/**
 * Tracks cells that change at every sample, and changing cells next to them (what moves spreads). They would
 * send every frame to OCR; they are left out of the change test until they hold still again, and are then
 * compared with what they looked like when last read. New text elsewhere still triggers OCR, and the maximum
 * OCR gap bounds what a volatile cell could hide.
 */
export class VolatileCells {
	private readonly streaks = new Uint8Array(GRID_COLUMNS * GRID_ROWS);
	readonly mask = new Uint8Array(GRID_COLUMNS * GRID_ROWS);
	/** One sample's changed cells (1 = changed since the previous sample). */
	record(moved: Uint8Array): void {
		const before = new Uint8Array(this.mask);
		for (let cell = 0; cell < CELLS; cell++) {
			this.streaks[cell] = moved[cell] ? Math.min(255, this.streaks[cell] + 1) : 0;
			this.mask[cell] = this.streaks[cell] >= VOLATILE_AFTER || (moved[cell] && volatileNeighbour(before, cell)) ? 1 : 0;
		}
	}
}

/**
 * Whether a cell next to `cell` (8-neighbour) was volatile: a moving widget that enters a cell makes it change
 * too, and reading it there would cost a read per sample.
 */
function volatileNeighbour(mask: Uint8Array, cell: number): boolean {
	const column = cell % GRID_COLUMNS;
	const row = Math.floor(cell / GRID_COLUMNS);
	for (let r = Math.max(0, row - 1); r <= Math.min(GRID_ROWS - 1, row + 1); r++) {
		for (let c = Math.max(0, column - 1); c <= Math.min(GRID_COLUMNS - 1, column + 1); c++) if (mask[r * GRID_COLUMNS + c]) return true;
	}
	return false;
}

/** A frame reduced for the change test: every 2nd pixel of every 2nd row, with its cells' means. */
export interface CellPicture {
	pixels: Uint8Array;
	width: number;
	height: number;
	/** Cell of each reduced pixel. */
	cellOf: Uint8Array;
	means: Float64Array;
}

/** Reduced pixels that differ by more than this gray level count as changed. */
export const PIXEL_DELTA = 40;
/**
 * Share of a cell's reduced pixels that must change for the cell to count as changed when its mean did not
 * move: new text over old text of about the same ink (one form replacing another) keeps the mean. At 1080p a
 * cell has 3 600 reduced pixels, so 11 pixels: a glyph of 12 px text; encoder refinement stays under the delta.
 */
export const CHANGED_PIXELS_SHARE = 0.003;

export function cellPicture(gray: Uint8Array, width: number, height: number, cellOf?: Uint8Array): CellPicture {
	const reducedWidth = Math.ceil(width / 2);
	const reducedHeight = Math.ceil(height / 2);
	const pixels = new Uint8Array(reducedWidth * reducedHeight);
	let cells = cellOf;
	if (!cells || cells.length !== pixels.length) {
		cells = new Uint8Array(pixels.length);
		for (let y = 0; y < reducedHeight; y++) {
			const row = Math.min(GRID_ROWS - 1, Math.floor((2 * y * GRID_ROWS) / height));
			for (let x = 0; x < reducedWidth; x++) cells[y * reducedWidth + x] = row * GRID_COLUMNS + Math.min(GRID_COLUMNS - 1, Math.floor((2 * x * GRID_COLUMNS) / width));
		}
	}
	const sums = new Float64Array(CELLS);
	const counts = new Float64Array(CELLS);
	for (let y = 0, i = 0; y < reducedHeight; y++) {
		const offset = 2 * y * width;
		for (let x = 0; x < reducedWidth; x++, i++) {
			const value = gray[offset + 2 * x];
			pixels[i] = value;
			sums[cells[i]] += value;
			counts[cells[i]]++;
		}
	}
	for (let cell = 0; cell < CELLS; cell++) sums[cell] = counts[cell] ? sums[cell] / counts[cell] : 0;
	return { pixels, width: reducedWidth, height: reducedHeight, cellOf: cells, means: sums };
}

/** Per cell, 1 when it changed from `before` to `after`: its mean moved by `threshold` or enough of its pixels changed. */
export function changedCells(before: CellPicture, after: CellPicture, threshold: number): Uint8Array {
	const moved = new Uint32Array(CELLS);
	const size = new Uint32Array(CELLS);
	const { pixels: a } = before;
	const { pixels: b, cellOf } = after;
	for (let i = 0; i < b.length; i++) {
		size[cellOf[i]]++;
		const delta = a[i] - b[i];
		if (delta > PIXEL_DELTA || delta < -PIXEL_DELTA) moved[cellOf[i]]++;
	}
	const changed = new Uint8Array(CELLS);
	for (let cell = 0; cell < CELLS; cell++) {
		changed[cell] = Math.abs(after.means[cell] - before.means[cell]) >= threshold || moved[cell] >= Math.max(2, CHANGED_PIXELS_SHARE * size[cell]) ? 1 : 0;
	}
	return changed;
}

/** Copies the given cells of `source` into `target` (pixels and means): what those cells looked like when read. */
export function copyCells(target: CellPicture, source: CellPicture, cells: Uint8Array): void {
	const { cellOf } = source;
	for (let i = 0; i < source.pixels.length; i++) if (cells[cellOf[i]]) target.pixels[i] = source.pixels[i];
	for (let cell = 0; cell < CELLS; cell++) if (cells[cell]) target.means[cell] = source.means[cell];
}

/**
 * Encoder ghosts (faint remnants of the previous screen that a realtime VP8 stream refines only slowly) make
 * tesseract read garbage over otherwise crisp text. Each 32×32 tile's pixels within `tolerance` of the tile's
 * most common value (its background) are set to it; text differs far more and stays.
 */
export function snapBackground(gray: Uint8Array, width: number, height: number, tolerance = 24, within?: Rect): void {
	const tile = 32;
	const histogram = new Uint32Array(256);
	const x0 = within?.x ?? 0;
	const y0 = within?.y ?? 0;
	const x1 = Math.min(width, within ? within.x + within.w : width);
	const y1 = Math.min(height, within ? within.y + within.h : height);
	for (let top = y0; top < y1; top += tile) {
		const bottom = Math.min(y1, top + tile);
		for (let left = x0; left < x1; left += tile) {
			const right = Math.min(x1, left + tile);
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

/** A box of grid cells, inclusive: first column, first row, last column, last row. */
export type CellBox = [c0: number, r0: number, c1: number, r1: number];

/**
 * The cells to read for a set of changed cells: each group of neighbouring changed cells (8-neighbour) grown
 * by one cell on every side, boxed; boxes that overlap are merged until none do. One cell of margin keeps a
 * changed value whole and brings the label next to it.
 */
export function changedRegions(changed: Uint8Array): CellBox[] {
	const grown = new Uint8Array(CELLS);
	for (let cell = 0; cell < CELLS; cell++) {
		if (!changed[cell]) continue;
		const column = cell % GRID_COLUMNS;
		const row = Math.floor(cell / GRID_COLUMNS);
		for (let r = Math.max(0, row - 1); r <= Math.min(GRID_ROWS - 1, row + 1); r++) {
			for (let c = Math.max(0, column - 1); c <= Math.min(GRID_COLUMNS - 1, column + 1); c++) grown[r * GRID_COLUMNS + c] = 1;
		}
	}
	const seen = new Uint8Array(CELLS);
	let boxes: CellBox[] = [];
	for (let start = 0; start < CELLS; start++) {
		if (!grown[start] || seen[start]) continue;
		const box: CellBox = [GRID_COLUMNS, GRID_ROWS, -1, -1];
		const stack = [start];
		seen[start] = 1;
		while (stack.length) {
			const cell = stack.pop() as number;
			const column = cell % GRID_COLUMNS;
			const row = Math.floor(cell / GRID_COLUMNS);
			box[0] = Math.min(box[0], column);
			box[1] = Math.min(box[1], row);
			box[2] = Math.max(box[2], column);
			box[3] = Math.max(box[3], row);
			const next = [column > 0 ? cell - 1 : -1, column < GRID_COLUMNS - 1 ? cell + 1 : -1, row > 0 ? cell - GRID_COLUMNS : -1, row < GRID_ROWS - 1 ? cell + GRID_COLUMNS : -1];
			for (const neighbour of next) {
				if (neighbour >= 0 && grown[neighbour] && !seen[neighbour]) {
					seen[neighbour] = 1;
					stack.push(neighbour);
				}
			}
		}
		boxes.push(box);
	}
	for (let merged = true; merged; ) {
		merged = false;
		const out: CellBox[] = [];
		for (const box of boxes) {
			const other = out.find((o) => o[0] <= box[2] && box[0] <= o[2] && o[1] <= box[3] && box[1] <= o[3]);
			if (!other) {
				out.push([...box]);
				continue;
			}
			other[0] = Math.min(other[0], box[0]);
			other[1] = Math.min(other[1], box[1]);
			other[2] = Math.max(other[2], box[2]);
			other[3] = Math.max(other[3], box[3]);
			merged = true;
		}
		boxes = out;
	}
	return boxes;
}

/** The pixel rectangle of a box of cells in a `width`×`height` frame. */
export function cellBoxRect([c0, r0, c1, r1]: CellBox, width: number, height: number): Rect {
	const x = Math.floor((c0 * width) / GRID_COLUMNS);
	const y = Math.floor((r0 * height) / GRID_ROWS);
	return { x, y, w: Math.floor(((c1 + 1) * width) / GRID_COLUMNS) - x, h: Math.floor(((r1 + 1) * height) / GRID_ROWS) - y };
}

function pgm(gray: Uint8Array, width: number, height: number): Buffer {
	const header = Buffer.from(`P5\n${width} ${height}\n255\n`, 'latin1');
	return Buffer.concat([header, gray]);
}

/**
 * Decodes `input` once and calls `onFrame` for each frame worth OCR, in order, with the regions to read.
 * `onFrame` may be slow (OCR): ffmpeg is paused through the pipe's backpressure while it runs, so memory stays
 * at a few frames.
 */
export async function sampleFrames(
	ffmpeg: ToolInfo,
	input: string,
	options: SamplerOptions,
	onFrame: (frame: SampledFrame) => Promise<void>,
): Promise<SamplerStats> {
	const { width, height } = options;
	const frameBytes = width * height;
	const stats: SamplerStats = { sampled: 0, sentToOcr: 0, ocrAreaShare: 0 };
	let readArea = 0;
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
	// What each cell looked like when it was last read (undefined until the first, whole-frame read).
	let reference: CellPicture | undefined;
	let previous: CellPicture | undefined;
	let lastFullAt = -Infinity;
	const volatile = new VolatileCells();
	interface Pending {
		index: number;
		atSec: number;
		gray: Uint8Array;
		picture: CellPicture;
		cells: Uint8Array;
		boxes: CellBox[];
		full: boolean;
		share: number;
	}
	let pending: Pending | undefined;

	const read = async (gray: Uint8Array, change: Pending) => {
		const regions = change.boxes.map((box) => cellBoxRect(box, width, height));
		for (const region of regions) readArea += region.w * region.h;
		stats.sentToOcr++;
		await onFrame({ index: change.index, atSec: change.atSec, width, height, pgm: pgm(gray, width, height), regions, full: change.full, changedShare: change.share });
	};

	const onSample = async (gray: Uint8Array) => {
		const index = stats.sampled++;
		const atSec = Math.round(index * options.intervalSec * 1000) / 1000;
		const picture = cellPicture(gray, width, height, previous?.cellOf);
		if (previous) volatile.record(changedCells(previous, picture, options.cellThreshold));
		previous = picture;
		if (pending) {
			// Settled when no steady cell of the change moved again: read this sharper frame, dated at the change.
			const change = pending;
			pending = undefined;
			const again = changedCells(change.picture, picture, options.cellThreshold);
			let settled = true;
			for (let cell = 0; cell < CELLS && settled; cell++) if (change.cells[cell] && !volatile.mask[cell] && again[cell]) settled = false;
			if (settled && reference) copyCells(reference, picture, change.cells);
			await read(settled ? gray : change.gray, change);
		}
		const full = !reference || (options.maxGapSec > 0 && atSec - lastFullAt >= options.maxGapSec);
		let changed: Uint8Array;
		let count = 0;
		if (!reference || full) {
			changed = new Uint8Array(CELLS).fill(1);
			count = CELLS;
		} else {
			changed = changedCells(reference, picture, options.cellThreshold);
			for (let cell = 0; cell < CELLS; cell++) {
				if (volatile.mask[cell]) changed[cell] = 0;
				count += changed[cell];
			}
		}
		if (!count) return;
		const boxes: CellBox[] = full ? [[0, 0, GRID_COLUMNS - 1, GRID_ROWS - 1]] : changedRegions(changed);
		const cells = new Uint8Array(CELLS);
		for (const [c0, r0, c1, r1] of boxes) for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) cells[r * GRID_COLUMNS + c] = 1;
		if (!reference) reference = { ...picture, pixels: new Uint8Array(picture.pixels), means: new Float64Array(picture.means) };
		else copyCells(reference, picture, cells);
		if (full) lastFullAt = atSec;
		pending = { index, atSec, gray, picture, cells, boxes, full, share: full ? 1 : count / CELLS };
	};

	const sink = new Writable({
		highWaterMark: frameBytes,
		write(chunk: Buffer, _encoding, callback) {
			chunks.push(chunk);
			buffered += chunk.length;
			void (async () => {
				while (buffered >= frameBytes) await onSample(takeFrame());
			})().then(() => callback(), callback);
		},
		final(callback) {
			const change = pending;
			pending = undefined;
			(change ? read(change.gray, change) : Promise.resolve()).then(() => callback(), callback);
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
	stats.ocrAreaShare = stats.sampled ? Math.round((readArea / (stats.sampled * frameBytes)) * 1000) / 1000 : 0;
	return stats;
}
