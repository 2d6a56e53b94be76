import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { resolveTool, runTool } from '../../nodes/shared/media/tools';
import { cellMeans, changedShare, sampleFrames, snapBackground, VolatileCells } from '../../nodes/shared/pii/sampler';

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

test('a static screen costs one OCR (plus the settle frame); a new field sends that frame and the next', async () => {
	const file = await clip('static', 10, 5);
	const sent: number[] = [];
	const stats = await sampleFrames(ffmpeg, file, options, async (frame) => {
		sent.push(frame.atSec);
		expect(frame.pgm.subarray(0, 15).toString('latin1')).toBe('P5\n960 540\n255\n');
		expect(frame.pgm.length).toBe(15 + 960 * 540);
	});
	expect(stats.sampled).toBe(10);
	expect(sent).toEqual([0, 1, 5, 6]);
	expect(stats.sentToOcr).toBe(4);
});

test('a cell that changes at every sample (a blinking widget) stops triggering OCR; a new field still does', async () => {
	const file = await clip('blinking', 12, 8, true);
	const sent: number[] = [];
	await sampleFrames(ffmpeg, file, options, async (frame) => {
		sent.push(frame.atSec);
	});
	expect(sent).toContain(8);
	expect(sent.filter((at) => at > 4 && at < 8)).toEqual([]);
});

test('the maximum OCR gap forces a frame now and then', async () => {
	const file = await clip('gap', 10, 100);
	const sent: number[] = [];
	await sampleFrames(ffmpeg, file, { ...options, maxGapSec: 4 }, async (frame) => {
		sent.push(frame.atSec);
	});
	expect(sent).toEqual([0, 1, 5, 9]);
});

test('an OCR failure stops ffmpeg and surfaces', async () => {
	const file = await clip('fail', 6, 3);
	await expect(
		sampleFrames(ffmpeg, file, options, async () => {
			throw new Error('worker died');
		}),
	).rejects.toThrow('worker died');
});

test('cell means, change share, volatile cells and background snapping', () => {
	const width = 160;
	const height = 90;
	const a = new Uint8Array(width * height).fill(200);
	const b = new Uint8Array(a);
	for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) b[y * width + x] = 0;
	expect(changedShare(undefined, cellMeans(a, width, height), 3)).toBe(1);
	expect(changedShare(cellMeans(a, width, height), cellMeans(b, width, height), 3)).toBeCloseTo(1 / 144, 5);
	const volatile = new VolatileCells();
	for (let round = 0; round < 4; round++) volatile.update(cellMeans(round % 2 ? a : b, width, height), 3);
	expect(volatile.mask[0]).toBe(1);
	expect(volatile.mask.reduce((sum, value) => sum + value, 0)).toBe(1);
	const noisy = new Uint8Array(a);
	noisy[5] = 190;
	noisy[6] = 20;
	snapBackground(noisy, width, height);
	expect(noisy[5]).toBe(200);
	expect(noisy[6]).toBe(20);
});
