import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { analyseContent, factsFromFfprobe, MediaProbeError, probeFacts, summariseProbe, truncationOf } from '../../nodes/shared/media/probe';
import { MediaToolError, npmBinary, redactUrls, resolveTool, runTool } from '../../nodes/shared/media/tools';
import {
	DEFAULT_RENDITION,
	mergeAudioArgs,
	planRendition,
	posterArgs,
	posterTime,
	renditionArgs,
	spliceArgs,
	writeConcatList,
} from '../../nodes/shared/media/transcode';
import { withWorkspace, WorkspaceError } from '../../nodes/shared/media/workspace';
import { makeClip, mp4TopLevelBoxes } from '../support/mediaClips';

const ffmpeg = resolveTool('ffmpeg');
const ffprobe = resolveTool('ffprobe');
const LIMIT = 1024 * 1048576;
let dir: string;

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'cx-media-test-'));
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

const probe = (file: string) => probeFacts(ffprobe, file, { timeoutMs: 30_000 });

describe('binaries', () => {
	test('resolves ffmpeg and ffprobe with their version and where they came from', () => {
		expect(ffmpeg.version).toMatch(/^ffmpeg version /);
		expect(ffprobe.version).toMatch(/^ffprobe version /);
		expect(['system', 'npm', 'operator']).toContain(ffmpeg.origin);
	});

	test('an operator path that does not run is a clear error naming the setting', () => {
		expect(() => resolveTool('ffmpeg', '/nonexistent/ffmpeg')).toThrow(/ffmpeg at \/nonexistent\/ffmpeg does not run.*CX_FFMPEG_PATH/);
	});

	test('the npm fallback is a working binary with its own version', () => {
		const bundled = resolveTool('ffprobe', npmBinary('ffprobe'));
		expect(bundled.origin).toBe('operator');
		expect(bundled.version).toMatch(/^ffprobe version/);
	});
});

describe('runTool', () => {
	test('arguments are an argv array: shell syntax in a file name is just a file name', async () => {
		const odd = join(dir, "clip; echo pwned $(id) 'q'.webm");
		await makeClip(odd, { seconds: 1 });
		const facts = await probe(odd);
		expect(facts.hasVideo).toBe(true);
	});

	test('a non-zero exit rejects with the last stderr line as the reason', async () => {
		const error = (await runTool(ffmpeg, ['-hide_banner', '-i', join(dir, 'missing.webm'), '-f', 'null', '-'], { timeoutMs: 10_000 }).catch((e: unknown) => e)) as MediaToolError;
		expect(error).toBeInstanceOf(MediaToolError);
		expect(error.exitCode).not.toBe(0);
		expect(error.message).toMatch(/No such file or directory/);
	});

	test('a timeout kills the process and says so', async () => {
		const started = Date.now();
		const error = (await runTool(ffmpeg, ['-hide_banner', '-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=5', '-f', 'null', '-'], { timeoutMs: 400 }).catch(
			(e: unknown) => e,
		)) as MediaToolError;
		expect(error.timedOut).toBe(true);
		expect(error.message).toMatch(/timed out/);
		expect(Date.now() - started).toBeLessThan(10_000);
	});

	test('an abort kills the process', async () => {
		const controller = new AbortController();
		const running = runTool(ffmpeg, ['-hide_banner', '-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=5', '-f', 'null', '-'], {
			timeoutMs: 60_000,
			signal: controller.signal,
		});
		setTimeout(() => controller.abort(), 200);
		await expect(running).rejects.toThrow(/cancelled/);
	});

	test('collected stdout is bounded', async () => {
		await expect(
			runTool(ffmpeg, ['-hide_banner', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-t', '5', '-f', 'rawvideo', '-'], {
				timeoutMs: 30_000,
				stdout: 'collect',
				maxStdoutBytes: 100_000,
			}),
		).rejects.toThrow(/more than 100000 bytes/);
	});

	test('signed URLs never reach a message', () => {
		expect(redactUrls('Server returned 403 for http://127.0.0.1:9/b/k.webm?X-Amz-Signature=abc&X-Amz-Credential=S3RVER')).toBe(
			'Server returned 403 for http://127.0.0.1:9/b/k.webm?<signed>',
		);
	});
});

describe('probe', () => {
	test('WebM VP8 + Opus: streams, codecs, container, duration, size, frame rate', async () => {
		const file = await makeClip(join(dir, 'vp8.webm'), { seconds: 3, width: 640, height: 360, fps: 15 });
		const facts = await probe(file);
		expect(facts).toMatchObject({ hasVideo: true, hasAudio: true, codecs: ['vp8', 'opus'], video: { codec: 'vp8', width: 640, height: 360, fps: 15 } });
		expect(facts.container).toMatch(/webm/);
		expect(facts.durationSec).toBeGreaterThan(2.8);
		expect(facts.durationSec).toBeLessThan(3.3);
	});

	test('MP4 H.264 without audio: video only is reported', async () => {
		const file = await makeClip(join(dir, 'h264-noaudio.mp4'), { seconds: 2, codec: 'h264', audio: 'none' });
		const facts = await probe(file);
		const summary = summariseProbe(facts, undefined, { blackRatio: 0.9, silenceDb: -50 });
		expect(summary).toMatchObject({ hasVideo: true, hasAudio: false, codecs: ['h264'], analysis: 'off' });
		expect(summary.flags).toEqual(['video_only_no_audio']);
	});

	test('black picture and silent audio are detected; a normal clip is neither', async () => {
		const black = await makeClip(join(dir, 'black-silent.webm'), { seconds: 4, video: 'black', audio: 'silence' });
		const normal = await makeClip(join(dir, 'normal.webm'), { seconds: 4 });
		for (const mode of ['keyframes', 'full'] as const) {
			const blackFacts = await probe(black);
			const blackContent = await analyseContent(ffmpeg, black, blackFacts, { mode, pixelThreshold: 0.1, timeoutMs: 30_000 });
			const blackSummary = summariseProbe(blackFacts, blackContent, { blackRatio: 0.9, silenceDb: -50 });
			expect(blackSummary.blackVideo).toBe(true);
			expect(blackSummary.blackRatio).toBeGreaterThan(0.9);
			expect(blackSummary.silentAudio).toBe(true);
			expect(blackSummary.flags).toEqual(expect.arrayContaining(['black_video', 'silent_audio']));

			const normalFacts = await probe(normal);
			const normalContent = await analyseContent(ffmpeg, normal, normalFacts, { mode, pixelThreshold: 0.1, timeoutMs: 30_000 });
			const normalSummary = summariseProbe(normalFacts, normalContent, { blackRatio: 0.9, silenceDb: -50 });
			expect(normalSummary.blackVideo).toBe(false);
			expect(normalSummary.blackRatio).toBeLessThan(0.1);
			expect(normalSummary.silentAudio).toBe(false);
			expect(normalSummary.maxVolumeDb).toBeGreaterThan(-30);
			expect(normalSummary.flags).toEqual([]);
		}
	});

	test('a file that is not media is a MediaProbeError, not a crash', async () => {
		const file = join(dir, 'not-media.webm');
		await writeFile(file, 'this is not a video at all'.repeat(100));
		await expect(probe(file)).rejects.toBeInstanceOf(MediaProbeError);
	});

	test('an MP4 cut before its index (moov at the end) is unreadable', async () => {
		const file = await makeClip(join(dir, 'cut.mp4'), { seconds: 3, codec: 'h264' });
		const size = (await stat(file)).size;
		await truncate(file, Math.floor(size / 2));
		await expect(probe(file)).rejects.toThrow(/not a readable media file/);
	});

	test('a WebM cut in the middle decodes only partly: truncation is reported', async () => {
		const file = await makeClip(join(dir, 'cut.webm'), { seconds: 30, audio: 'none' });
		const size = (await stat(file)).size;
		await truncate(file, Math.floor(size * 0.4));
		const facts = await probe(file);
		const content = await analyseContent(ffmpeg, file, facts, { mode: 'full', pixelThreshold: 0.1, timeoutMs: 30_000 });
		expect(truncationOf(facts, content)).toMatch(/decoding stopped at \d+\.\d s of 30\.0 s/);
		const whole = await makeClip(join(dir, 'whole.webm'), { seconds: 30, audio: 'none' });
		const wholeFacts = await probe(whole);
		expect(truncationOf(wholeFacts, await analyseContent(ffmpeg, whole, wholeFacts, { mode: 'full', pixelThreshold: 0.1, timeoutMs: 30_000 }))).toBeUndefined();
	});

	test('ffprobe JSON without streams is refused', () => {
		expect(() => factsFromFfprobe({ format: { format_name: 'webm' }, streams: [] })).toThrow(/no audio or video stream/);
	});
});

describe('rendition plan', () => {
	const h264 = { container: 'mov,mp4,m4a,3gp,3g2,mj2', hasVideo: true, hasAudio: true, codecs: ['h264', 'aac'], video: { codec: 'h264', width: 1920, height: 1080, pixelFormat: 'yuv420p' }, audio: { codec: 'aac' } };

	test('H.264 + AAC within the caps is remuxed', () => {
		expect(planRendition(h264, DEFAULT_RENDITION)).toMatchObject({ mode: 'remux', copyAudio: true });
	});
	test('H.264 with MP3 audio: video copied, audio re-encoded', () => {
		expect(planRendition({ ...h264, audio: { codec: 'mp3' } }, DEFAULT_RENDITION)).toMatchObject({ mode: 'remux', copyAudio: false });
	});
	test('VP8, 4:4:4, too large, or remux switched off → encode, with the reason', () => {
		expect(planRendition({ ...h264, video: { ...h264.video, codec: 'vp8' } }, DEFAULT_RENDITION)).toMatchObject({ mode: 'encode', reason: 'video codec vp8' });
		expect(planRendition({ ...h264, video: { ...h264.video, pixelFormat: 'yuv444p' } }, DEFAULT_RENDITION).reason).toBe('pixel format yuv444p');
		expect(planRendition({ ...h264, video: { ...h264.video, width: 3840, height: 2160 } }, DEFAULT_RENDITION).reason).toBe('3840x2160 above 1920x1080');
		expect(planRendition(h264, { ...DEFAULT_RENDITION, remuxWhenCompatible: false }).mode).toBe('encode');
	});
	test('poster time stays inside the recording', () => {
		expect(posterTime(5, 60)).toBe(5);
		expect(posterTime(5, 2)).toBe(1.5);
		expect(posterTime(undefined, 4)).toBe(2);
	});
});

describe('transcode with real ffmpeg', () => {
	test('WebM VP8 → MP4 H.264/AAC, faststart, capped size and frame rate', async () => {
		const input = await makeClip(join(dir, 'in.webm'), { seconds: 3, width: 640, height: 360, fps: 30 });
		const facts = await probe(input);
		const params = { ...DEFAULT_RENDITION, maxWidth: 320, maxHeight: 320, maxFps: 10, preset: 'ultrafast' as const };
		const plan = planRendition(facts, params);
		expect(plan.mode).toBe('encode');
		const output = join(dir, 'out.mp4');
		await runTool(ffmpeg, renditionArgs(ffmpeg, input, output, facts, plan, params, LIMIT), { timeoutMs: 60_000 });
		const result = await probe(output);
		expect(result).toMatchObject({ codecs: ['h264', 'aac'], video: { width: 320, height: 180, fps: 10, pixelFormat: 'yuv420p' } });
		expect(mp4TopLevelBoxes(await readFile(output)).slice(0, 2)).toEqual(['ftyp', 'moov']);
	});

	test('a compatible MP4 (index at the end) is remuxed: same stream, faststart added', async () => {
		const input = await makeClip(join(dir, 'compatible.mp4'), { seconds: 4, codec: 'h264', width: 640, height: 360 });
		expect(mp4TopLevelBoxes(await readFile(input)).indexOf('moov')).toBeGreaterThan(mp4TopLevelBoxes(await readFile(input)).indexOf('mdat'));
		const facts = await probe(input);
		const plan = planRendition(facts, DEFAULT_RENDITION);
		expect(plan.mode).toBe('remux');
		const output = join(dir, 'remuxed.mp4');
		const args = renditionArgs(ffmpeg, input, output, facts, plan, DEFAULT_RENDITION, LIMIT);
		expect(args).toEqual(expect.arrayContaining(['-c:v', 'copy', '-c:a', 'copy']));
		expect(args).not.toContain('libx264');
		await runTool(ffmpeg, args, { timeoutMs: 60_000 });
		expect(mp4TopLevelBoxes(await readFile(output)).slice(0, 2)).toEqual(['ftyp', 'moov']);
		expect((await probe(output)).durationSec).toBeCloseTo(facts.durationSec ?? 0, 0);
	});

	test('the output size limit stops ffmpeg (bounded temp space)', async () => {
		const input = await makeClip(join(dir, 'limit.webm'), { seconds: 6, width: 640, height: 360 });
		const facts = await probe(input);
		const output = join(dir, 'limited.mp4');
		const params = { ...DEFAULT_RENDITION, preset: 'ultrafast' as const, crf: 15 };
		await runTool(ffmpeg, renditionArgs(ffmpeg, input, output, facts, planRendition(facts, params), params, 50_000), { timeoutMs: 60_000 }).catch(() => undefined);
		expect((await stat(output)).size).toBeLessThan(120_000);
	});

	test('call audio starting 2 s after the screen is delayed by 2 s; the result is as long as the video', async () => {
		const video = await makeClip(join(dir, 'screen-only.webm'), { seconds: 6, audio: 'none' });
		const audio = join(dir, 'call.m4a');
		await runTool(ffmpeg, ['-hide_banner', '-y', '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=8000', '-t', '3', '-c:a', 'aac', audio], { timeoutMs: 30_000 });
		const output = join(dir, 'merged.mp4');
		const facts = await probe(video);
		const params = { ...DEFAULT_RENDITION, preset: 'ultrafast' as const };
		await runTool(ffmpeg, mergeAudioArgs(ffmpeg, { input: video, facts }, { input: audio }, 2, output, params, LIMIT), { timeoutMs: 60_000 });
		const merged = await probe(output);
		expect(merged.codecs).toEqual(['h264', 'aac']);
		expect(merged.durationSec).toBeGreaterThan(5.7);
		expect(merged.durationSec).toBeLessThan(6.5);
		// Silence for the first 2 s, the tone from 2 s to 5 s.
		const level = async (from: number) => {
			const lines: string[] = [];
			await runTool(ffmpeg, ['-hide_banner', '-ss', String(from), '-t', '0.8', '-i', output, '-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-'], {
				timeoutMs: 30_000,
				onStderrLine: (line) => lines.push(line),
			});
			return Number(/max_volume: (-?[\d.]+)/.exec(lines.join('\n'))?.[1] ?? '-200');
		};
		expect(await level(0.5)).toBeLessThan(-60);
		expect(await level(3)).toBeGreaterThan(-20);
		expect(mergeAudioArgs(ffmpeg, { input: video, facts }, { input: audio }, -1.5, output, params, LIMIT)).toEqual(expect.arrayContaining(['-ss', '1.500']));
	});

	test('segments are concatenated in order and cut to the contact', async () => {
		const segments = [await makeClip(join(dir, 'seg-0.webm'), { seconds: 4 }), await makeClip(join(dir, 'seg-1.webm'), { seconds: 4 })];
		const list = join(dir, 'segments.ffconcat');
		await writeConcatList(list, segments);
		const output = join(dir, 'spliced.mp4');
		await runTool(ffmpeg, spliceArgs(list, 2.5, 4, output, { ...DEFAULT_RENDITION, preset: 'ultrafast' }, LIMIT), { timeoutMs: 60_000 });
		const facts = await probe(output);
		expect(facts.durationSec).toBeGreaterThan(3.8);
		expect(facts.durationSec).toBeLessThan(4.3);
	});

	test('a poster is one JPEG frame, at most the requested width', async () => {
		const input = await makeClip(join(dir, 'poster-src.webm'), { seconds: 3, width: 1280, height: 720 });
		const output = join(dir, 'poster.jpg');
		await runTool(ffmpeg, posterArgs(ffmpeg, input, posterTime(5, 3), 640, output), { timeoutMs: 30_000 });
		const data = await readFile(output);
		expect(data.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
		expect((await probe(output)).video).toMatchObject({ width: 640, height: 360 });
	});
});

describe('workspace', () => {
	test('removed after success and after failure', async () => {
		const root = await mkdtemp(join(tmpdir(), 'cx-ws-'));
		await withWorkspace({ maxBytes: 1024, root }, async (workspace) => {
			await writeFile(workspace.path('a.bin'), 'x');
			expect(await readdir(root)).toHaveLength(1);
		});
		await expect(
			withWorkspace({ maxBytes: 1024, root }, async (workspace) => {
				await writeFile(workspace.path('b.bin'), 'y');
				throw new Error('boom');
			}),
		).rejects.toThrow('boom');
		expect(await readdir(root)).toEqual([]);
		await rm(root, { recursive: true, force: true });
	});

	test('refuses to start when the temp folder has less free space than the limit', async () => {
		await expect(withWorkspace({ maxBytes: Number.MAX_SAFE_INTEGER }, async () => 1)).rejects.toBeInstanceOf(WorkspaceError);
	});
});
