import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { probeFacts, type MediaFacts } from '../../nodes/shared/media/probe';
import { resolveTool, runTool, type ToolInfo } from '../../nodes/shared/media/tools';
import {
	DEFAULT_REDACTION_ENCODING,
	MAX_REDACTION_REGIONS,
	mergeRegions,
	planRedaction,
	redactionArgs,
	RedactionError,
	redactionFilter,
	tryPlanRedaction,
	type RedactableFinding,
} from '../../nodes/shared/pii/redact';

const FULL_HD = { width: 1920, height: 1080 };
const plan = (findings: RedactableFinding[], overrides: Partial<Parameters<typeof planRedaction>[1]> = {}) =>
	planRedaction(findings, { scan: FULL_HD, video: FULL_HD, boxPaddingPx: 0, timePaddingSec: 0, ...overrides });

describe('planRedaction', () => {
	test('boxes found at scan resolution are scaled to the video, padded and snapped outwards to even pixels', () => {
		// Scanned at 960x540, the video is 1920x1080: everything doubles, then 8 px of padding on each side.
		const [region] = plan([{ box: [100, 50, 200, 21], atSec: 2, untilSec: 5 }], { scan: { width: 960, height: 540 }, boxPaddingPx: 8 });
		expect(region).toEqual({ x: 192, y: 92, w: 416, h: 58, fromSec: 2, toSec: 5 });
		// Odd coordinates and a non-integer scale: the box only grows, to even edges.
		const [odd] = plan([{ box: [101, 51, 33, 9], atSec: 0, untilSec: 1 }], { scan: { width: 1280, height: 720 } });
		// x 101*1.5 = 151.5 → 151 → 150; right (134)*1.5 = 201 → 202; y 76.5 → 76; bottom 90 → 90.
		expect(odd).toMatchObject({ x: 150, y: 76, w: 52, h: 14 });
		expect(odd.x % 2 + odd.y % 2 + odd.w % 2 + odd.h % 2).toBe(0);
	});

	test('the time range is widened by the padding before and after, never before 0', () => {
		const regions = plan(
			[
				{ box: [10, 10, 50, 20], atSec: 0.5, untilSec: 3 },
				{ box: [500, 500, 50, 20], atSec: 20, untilSec: 40.0004 },
			],
			{ timePaddingSec: 1 },
		);
		expect(regions.map((region) => [region.fromSec, region.toSec])).toEqual([
			[0, 4],
			[19, 41.001],
		]);
	});

	test('boxes are clamped to the frame', () => {
		const [corner] = plan([{ box: [1900, 1070, 100, 40], atSec: 1, untilSec: 2 }], { boxPaddingPx: 8 });
		expect(corner).toMatchObject({ x: 1892, y: 1062, w: 28, h: 18 });
		expect(corner.x + corner.w).toBe(1920);
		expect(corner.y + corner.h).toBe(1080);
		const [origin] = plan([{ box: [2, 3, 40, 20], atSec: 1, untilSec: 2 }], { boxPaddingPx: 8 });
		expect(origin).toMatchObject({ x: 0, y: 0, w: 50, h: 32 });
		// An odd-sized frame: the last column is covered, not rounded past.
		const [edge] = plan([{ box: [1270, 700, 9, 19], atSec: 1, untilSec: 2 }], { scan: { width: 1279, height: 719 }, video: { width: 1279, height: 719 } });
		expect(edge.x + edge.w).toBe(1279);
		expect(edge.y + edge.h).toBe(719);
	});

	test('boxes that overlap in place and time are merged; apart in time they stay separate', () => {
		const regions = plan(
			[
				// The same card number read twice with slightly different boxes, at overlapping times.
				{ box: [400, 300, 300, 30], atSec: 2, untilSec: 6 },
				{ box: [410, 305, 300, 30], atSec: 5, untilSec: 9 },
				// The same place again much later: a separate box.
				{ box: [400, 300, 300, 30], atSec: 30, untilSec: 32 },
				// Elsewhere on screen at the same time: separate.
				{ box: [100, 800, 200, 30], atSec: 2, untilSec: 6 },
			],
			{ boxPaddingPx: 4, timePaddingSec: 1 },
		);
		expect(regions).toEqual([
			{ x: 396, y: 296, w: 318, h: 44, fromSec: 1, toSec: 10 },
			{ x: 96, y: 796, w: 208, h: 38, fromSec: 1, toSec: 7 },
			{ x: 396, y: 296, w: 308, h: 38, fromSec: 29, toSec: 33 },
		]);
	});

	test('merging is transitive: a chain of overlaps becomes one box', () => {
		const merged = mergeRegions([
			{ x: 0, y: 0, w: 10, h: 10, fromSec: 0, toSec: 1 },
			{ x: 100, y: 0, w: 10, h: 10, fromSec: 0, toSec: 1 },
			{ x: 5, y: 0, w: 100, h: 10, fromSec: 0.5, toSec: 2 },
		]);
		expect(merged).toEqual([{ x: 0, y: 0, w: 110, h: 10, fromSec: 0, toSec: 2 }]);
	});

	test('no findings, a finding without a box or time range, or one outside the frame is an error, never an empty plan', () => {
		expect(() => plan([])).toThrow(new RedactionError('no findings to redact'));
		expect(() => plan([{ atSec: 1, untilSec: 2 }])).toThrow('finding 1 has no box');
		expect(() => plan([{ box: [1, 2, 0, 5], atSec: 1, untilSec: 2 }])).toThrow('finding 1 has no box');
		expect(() => plan([{ box: [1, 2, 3, 4], atSec: 1, untilSec: 2 }, { box: [1, 2, 3, 4] }])).toThrow('finding 2 has no time range');
		expect(() => plan([{ box: [1, 2, 3, 4], atSec: 3, untilSec: 2 }])).toThrow('finding 1 has no time range');
		expect(() => plan([{ box: [5000, 10, 30, 10], atSec: 1, untilSec: 2 }])).toThrow('outside the 1920x1080 frame');
		expect(() => plan([{ box: [1, 2, 3, 4], atSec: 1, untilSec: 2 }], { video: { width: 0, height: 0 } })).toThrow('video frame size is unknown');
		expect(() => plan([{ box: [1, 2, 3, 4], atSec: 1, untilSec: 2 }], { boxPaddingPx: -1 })).toThrow(RedactionError);
	});

	test('tryPlanRedaction returns the boxes or the reason they cannot be drawn', () => {
		const options = { scan: FULL_HD, video: FULL_HD, boxPaddingPx: 0, timePaddingSec: 0 };
		expect(tryPlanRedaction([{ box: [10, 10, 20, 10], atSec: 0, untilSec: 1 }], options)).toEqual({ regions: [{ x: 10, y: 10, w: 20, h: 10, fromSec: 0, toSec: 1 }] });
		expect(tryPlanRedaction([{ atSec: 0, untilSec: 1 }], options)).toEqual({ problem: 'finding 1 has no box' });
		expect(tryPlanRedaction([], options)).toEqual({ problem: 'no findings to redact' });
	});

	test('more boxes than the limit are refused', () => {
		const many = Array.from({ length: 12 }, (_, index) => ({ box: [index * 100, 0, 50, 20], atSec: 0, untilSec: 1 }));
		expect(plan(many)).toHaveLength(12);
		expect(() => plan(many, { maxRegions: 10 })).toThrow('12 boxes to draw; at most 10');
		expect(MAX_REDACTION_REGIONS).toBeGreaterThan(100);
	});
});

describe('redactionFilter / redactionArgs', () => {
	const ffmpeg: ToolInfo = { name: 'ffmpeg', path: 'ffmpeg', origin: 'system', version: 'ffmpeg version 5.1', reconnectOnNetworkError: true };
	const regions = [
		{ x: 396, y: 296, w: 318, h: 44, fromSec: 1, toSec: 10 },
		{ x: 96, y: 796, w: 208, h: 38, fromSec: 1.25, toSec: 7 },
	];

	test('one filled black drawbox per region, enabled for its time range', () => {
		expect(redactionFilter(regions, FULL_HD)).toBe(
			"drawbox=x=396:y=296:w=318:h=44:color=black:t=fill:enable='between(t,1.000,10.000)'," +
				"drawbox=x=96:y=796:w=208:h=38:color=black:t=fill:enable='between(t,1.250,7.000)'",
		);
		expect(redactionFilter(regions.slice(0, 1), { width: 1279, height: 720 })).toMatch(/,scale=trunc\(iw\/2\)\*2:trunc\(ih\/2\)\*2$/);
		expect(() => redactionFilter([], FULL_HD)).toThrow('no findings to redact');
	});

	const facts = (audio?: string): MediaFacts => ({
		container: 'matroska,webm',
		durationSec: 14,
		hasVideo: true,
		hasAudio: Boolean(audio),
		codecs: ['vp8', ...(audio ? [audio] : [])],
		video: { codec: 'vp8', width: 1920, height: 1080 },
		...(audio ? { audio: { codec: audio } } : {}),
	});

	test('argv: the URL is one entry, metadata dropped, H.264 with the rendition defaults, +faststart MP4, bounded size', () => {
		const url = "https://s3.example/bucket/a b;rm -rf/original.webm?X-Amz-Signature=abc'";
		const args = redactionArgs(ffmpeg, url, '/tmp/ws/redacted.mp4', facts('opus'), regions, DEFAULT_REDACTION_ENCODING, 1048576);
		expect(args[args.indexOf('-i') + 1]).toBe(url);
		expect(args).toEqual(expect.arrayContaining(['-reconnect_on_network_error', '-map_metadata', '-1', '-sn', '-dn']));
		const after = (flag: string) => args[args.indexOf(flag) + 1];
		expect(after('-vf')).toBe(redactionFilter(regions, FULL_HD));
		expect([after('-c:v'), after('-preset'), after('-crf'), after('-pix_fmt')]).toEqual(['libx264', 'veryfast', '23', 'yuv420p']);
		expect([after('-c:a'), after('-b:a')]).toEqual(['aac', '96k']);
		expect([after('-fs'), after('-movflags'), after('-f')]).toEqual(['1048576', '+faststart', 'mp4']);
		expect(args[args.length - 1]).toBe('/tmp/ws/redacted.mp4');
		// AAC is copied like the rendition does; no audio stream means no audio options.
		const aac = redactionArgs(ffmpeg, '/in.mp4', '/out.mp4', facts('aac'), regions, DEFAULT_REDACTION_ENCODING, 1);
		expect(aac[aac.indexOf('-c:a') + 1]).toBe('copy');
		expect(redactionArgs(ffmpeg, '/in.mp4', '/out.mp4', facts(), regions, DEFAULT_REDACTION_ENCODING, 1)).not.toContain('-c:a');
		expect(() => redactionArgs(ffmpeg, '/in', '/out', { ...facts(), video: undefined }, regions, DEFAULT_REDACTION_ENCODING, 1)).toThrow(RedactionError);
	});
});

describe('the ffmpeg pass', () => {
	const ffmpeg = resolveTool('ffmpeg');
	const ffprobe = resolveTool('ffprobe');
	let dir: string;
	beforeAll(async () => {
		dir = await mkdtemp(join(tmpdir(), 'cx-redact-'));
	});
	afterAll(async () => {
		await rm(dir, { recursive: true, force: true });
	});

	const grayAt = async (file: string, atSec: number) =>
		(await runTool(ffmpeg, ['-v', 'error', '-ss', atSec.toFixed(2), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { timeoutMs: 30_000, stdout: 'collect' })).stdout;

	test('the box is black over its region only while enabled; the output is H.264/AAC MP4 at the source size', async () => {
		const input = join(dir, 'white.webm');
		await runTool(
			ffmpeg,
			['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=white:s=320x240:r=10:d=3', '-f', 'lavfi', '-i', 'sine=f=440:d=3', '-c:v', 'libvpx', '-b:v', '300k', '-c:a', 'libopus', input],
			{ timeoutMs: 60_000 },
		);
		const facts = await probeFacts(ffprobe, input, { timeoutMs: 30_000 });
		// Found at 160x120 (half size): x 20..45, y 10..30 → 40..90, 20..60 in the video (no padding).
		const regions = planRedaction([{ box: [20, 10, 25, 20], atSec: 1, untilSec: 2 }], { scan: { width: 160, height: 120 }, video: { width: 320, height: 240 }, boxPaddingPx: 0, timePaddingSec: 0 });
		const output = join(dir, 'redacted.mp4');
		await runTool(ffmpeg, redactionArgs(ffmpeg, input, output, facts, regions, DEFAULT_REDACTION_ENCODING, 64 * 1048576), { timeoutMs: 60_000 });
		const out = await probeFacts(ffprobe, output, { timeoutMs: 30_000 });
		expect(out.codecs).toEqual(['h264', 'aac']);
		expect(out.video).toMatchObject({ width: 320, height: 240 });
		const inside = (frame: Buffer) => frame[40 * 320 + 65];
		const outside = (frame: Buffer) => frame[100 * 320 + 200];
		const during = await grayAt(output, 1.5);
		expect(inside(during)).toBeLessThan(30);
		expect(outside(during)).toBeGreaterThan(220);
		// Edges of the region are covered, the pixel just beyond is not.
		expect(during[20 * 320 + 40]).toBeLessThan(30);
		expect(during[59 * 320 + 89]).toBeLessThan(30);
		expect(during[61 * 320 + 92]).toBeGreaterThan(220);
		expect(inside(await grayAt(output, 0.5))).toBeGreaterThan(220);
		expect(inside(await grayAt(output, 2.6))).toBeGreaterThan(220);
	}, 60_000);
});
