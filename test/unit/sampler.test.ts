import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { resolveTool, runTool } from '../../nodes/shared/media/tools';
import {
	cellBoxRect,
	cellMeans,
	cellPicture,
	changedCells,
	changedRegions,
	GRID_COLUMNS,
	GRID_ROWS,
	sampleFrames,
	snapBackground,
	VolatileCells,
	type SampledFrame,
} from '../../nodes/shared/pii/sampler';

const ffmpeg = resolveTool('ffmpeg');
let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'cx-sampler-'));
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

/** A grey screen; a dark box appears at `boxFromSec` (a new field), optionally a block moving every second. */
async function clip(name: string, seconds: number, boxFromSec: number, moving = false): Promise<string> {
	const file = join(dir, `${name}.webm`);
	const filters = [`drawbox=x=400:y=300:w=300:h=40:color=black:t=fill:enable='gte(t,${boxFromSec})'`];
	if (moving) filters.push("drawbox=x=20:y=20:w=60:h=60:color=white:t=fill:enable='lt(mod(t,2),1)'");
	await runTool(
		ffmpeg,
		['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x808080:s=960x540:r=5', '-t', String(seconds), '-vf', filters.join(','), '-c:v', 'libvpx', '-b:v', '500k', '-g', '10', file],
		{ timeoutMs: 60_000 },
	);
	return file;
}

const options = { intervalSec: 1, cellThreshold: 3, maxGapSec: 0, width: 960, height: 540, timeoutMs: 60_000 };

test('a static screen costs one whole-frame read; a new field sends only its cells, read on the settled next sample', async () => {
	const file = await clip('static', 10, 5);
	const frames: SampledFrame[] = [];
	const stats = await sampleFrames(ffmpeg, file, options, async (frame) => {
		frames.push(frame);
		expect(frame.pgm.subarray(0, 15).toString('latin1')).toBe('P5\n960 540\n255\n');
		expect(frame.pgm.length).toBe(15 + 960 * 540);
	});
	expect(stats.sampled).toBe(10);
	expect(frames.map((frame) => frame.atSec)).toEqual([0, 5]);
	expect(stats.sentToOcr).toBe(2);
	expect(frames[0]).toMatchObject({ full: true, regions: [{ x: 0, y: 0, w: 960, h: 540 }] });
	// The box (x 400–700, y 300–340) lies in columns 6–11 and rows 5–6 of a 60×60 px grid; one cell of margin.
	expect(frames[1].full).toBe(false);
	expect(frames[1].regions).toEqual([{ x: 300, y: 240, w: 480, h: 180 }]);
	// Read on the next sample (the settled picture), dated at the change.
	expect(frames[1].index).toBe(5);
	const gray = frames[1].pgm.subarray(15);
	expect(gray[320 * 960 + 550]).toBeLessThan(40);
	expect(stats.ocrAreaShare).toBeCloseTo((960 * 540 + 480 * 180) / (10 * 960 * 540), 3);
});

test('a cell that changes at every sample (a blinking widget) stops triggering OCR; a new field still does', async () => {
	const file = await clip('blinking', 12, 8, true);
	const sent: SampledFrame[] = [];
	await sampleFrames(ffmpeg, file, options, async (frame) => {
		sent.push(frame);
	});
	expect(sent.map((frame) => frame.atSec)).toContain(8);
	expect(sent.filter((frame) => frame.atSec > 4 && frame.atSec < 8)).toEqual([]);
	// The new field's read does not include the widget's corner.
	const field = sent.find((frame) => frame.atSec === 8);
	expect(field?.regions.every((region) => region.x >= 300)).toBe(true);
});

test('the maximum OCR gap forces a whole-frame read now and then', async () => {
	const file = await clip('gap', 10, 100);
	const sent: SampledFrame[] = [];
	await sampleFrames(ffmpeg, file, { ...options, maxGapSec: 4 }, async (frame) => {
		sent.push(frame);
	});
	expect(sent.map((frame) => frame.atSec)).toEqual([0, 4, 8]);
	expect(sent.every((frame) => frame.full)).toBe(true);
});

test('text replaced by other text of the same ink changes no cell mean but is seen by its pixels', () => {
	const width = 160;
	const height = 90;
	const before = new Uint8Array(width * height).fill(220);
	const after = new Uint8Array(before);
	// Cell (0,0) is 10×10 px: a dark stroke moves from the left half to the right half — same mean.
	for (let y = 2; y < 8; y++) {
		for (let x = 0; x < 4; x++) before[y * width + x] = 20;
		for (let x = 6; x < 10; x++) after[y * width + x] = 20;
	}
	const a = cellPicture(before, width, height);
	const b = cellPicture(after, width, height);
	expect(Math.abs(a.means[0] - b.means[0])).toBeLessThan(3);
	const changed = changedCells(a, b, 3);
	expect(changed[0]).toBe(1);
	expect(changed.reduce((sum, value) => sum + value, 0)).toBe(1);
	// Encoder refinement (small changes everywhere) is no change.
	const refined = new Uint8Array(after).map((value, index) => (index % 3 ? value : value + 6));
	expect(changedCells(b, cellPicture(refined, width, height), 3).reduce((sum, value) => sum + value, 0)).toBe(0);
});

test('changed cells become boxes grown by one cell; neighbouring groups merge, distant ones stay apart', () => {
	const changed = new Uint8Array(GRID_COLUMNS * GRID_ROWS);
	changed[2 * GRID_COLUMNS + 3] = 1;
	changed[2 * GRID_COLUMNS + 4] = 1;
	changed[3 * GRID_COLUMNS + 5] = 1;
	changed[8 * GRID_COLUMNS + 15] = 1;
	const boxes = changedRegions(changed);
	expect(boxes).toEqual([
		[2, 1, 6, 4],
		[14, 7, 15, 8],
	]);
	expect(cellBoxRect(boxes[1], 1920, 1080)).toEqual({ x: 1680, y: 840, w: 240, h: 240 });
	expect(changedRegions(new Uint8Array(GRID_COLUMNS * GRID_ROWS))).toEqual([]);
});

test('a moving widget spreads volatility to the cells it enters', () => {
	const volatile = new VolatileCells();
	const moved = new Uint8Array(GRID_COLUMNS * GRID_ROWS);
	moved[15] = 1;
	for (let round = 0; round < 3; round++) volatile.record(moved);
	expect(volatile.mask[15]).toBe(1);
	// The widget now also changes the cell below: volatile at once, no three-sample streak.
	moved[31] = 1;
	volatile.record(moved);
	expect(volatile.mask[31]).toBe(1);
	// A cell far away that changes is not.
	moved[100] = 1;
	volatile.record(moved);
	expect(volatile.mask[100]).toBe(0);
	// Cells that hold still leave the mask.
	volatile.record(new Uint8Array(GRID_COLUMNS * GRID_ROWS));
	expect(volatile.mask.reduce((sum, value) => sum + value, 0)).toBe(0);
});

test('an OCR failure stops ffmpeg and surfaces', async () => {
	const file = await clip('fail', 6, 3);
	await expect(
		sampleFrames(ffmpeg, file, options, async () => {
			throw new Error('worker died');
		}),
	).rejects.toThrow('worker died');
});

test('cell means and changed cells of a picture, volatile cells and background snapping', () => {
	const width = 160;
	const height = 90;
	const a = new Uint8Array(width * height).fill(200);
	const b = new Uint8Array(a);
	for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) b[y * width + x] = 0;
	expect(cellMeans(b, width, height)[0]).toBeCloseTo(0, 5);
	expect(cellPicture(b, width, height).means).toEqual(cellMeans(b, width, height));
	const changed = changedCells(cellPicture(a, width, height), cellPicture(b, width, height), 3);
	expect([...changed].map((value, cell) => (value ? cell : -1)).filter((cell) => cell >= 0)).toEqual([0]);
	const volatile = new VolatileCells();
	for (let round = 0; round < 4; round++) volatile.record(changedCells(cellPicture(round % 2 ? b : a, width, height), cellPicture(round % 2 ? a : b, width, height), 3));
	expect(volatile.mask[0]).toBe(1);
	expect(volatile.mask.reduce((sum, value) => sum + value, 0)).toBe(1);
	const noisy = new Uint8Array(a);
	noisy[5] = 190;
	noisy[6] = 20;
	snapBackground(noisy, width, height);
	expect(noisy[5]).toBe(200);
	expect(noisy[6]).toBe(20);
});
