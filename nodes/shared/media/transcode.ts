import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';

import type { ObjectStoreApi, StoredObject } from '../store/types';
import { networkInputOptions, type MediaFacts } from './probe';
import { runTool, type RunResult, type ToolInfo } from './tools';
import type { Workspace } from './workspace';

/** Settings of the training rendition; the defaults suit screen content on a 2-core worker. */
export interface RenditionParams {
	maxWidth: number;
	maxHeight: number;
	/** Screen content rarely needs more than 15 fps; frames above the cap are dropped when re-encoding. */
	maxFps: number;
	/** libx264 preset: veryfast is about 0.35× realtime for 1080p on 2 cores; ultrafast 0.19× with 3.5× larger files. */
	preset: 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium';
	crf: number;
	audioBitrateK: number;
	/** Copy H.264 video (and AAC audio) into MP4 instead of re-encoding when the input already plays everywhere. */
	remuxWhenCompatible: boolean;
	/** x264 threads; 0 lets ffmpeg decide. */
	threads: number;
}

export const DEFAULT_RENDITION: RenditionParams = {
	maxWidth: 1920,
	maxHeight: 1080,
	maxFps: 15,
	preset: 'veryfast',
	crf: 23,
	audioBitrateK: 96,
	remuxWhenCompatible: true,
	threads: 0,
};

export type RenditionMode = 'remux' | 'encode';

export interface RenditionPlan {
	mode: RenditionMode;
	/** Why this mode: what made the input compatible or not. */
	reason: string;
	copyAudio: boolean;
}

const MP4_FAMILY = /(^|,)(mov|mp4|m4a|3gp|3g2|mj2)(,|$)/;
const PLAYABLE_PIXEL_FORMATS = new Set(['yuv420p', 'yuvj420p']);

/** Remux only when every LMS player will play the result: H.264 4:2:0 within the size caps, AAC or no audio. */
export function planRendition(facts: MediaFacts, params: RenditionParams): RenditionPlan {
	const video = facts.video;
	const copyAudio = !facts.hasAudio || facts.audio?.codec === 'aac';
	if (!video) return { mode: 'encode', reason: 'no video stream', copyAudio: false };
	if (!params.remuxWhenCompatible) return { mode: 'encode', reason: 're-encoding requested', copyAudio: false };
	const problems: string[] = [];
	if (video.codec !== 'h264') problems.push(`video codec ${video.codec}`);
	if (video.pixelFormat && !PLAYABLE_PIXEL_FORMATS.has(video.pixelFormat)) problems.push(`pixel format ${video.pixelFormat}`);
	if (video.width > params.maxWidth || video.height > params.maxHeight) {
		problems.push(`${video.width}x${video.height} above ${params.maxWidth}x${params.maxHeight}`);
	}
	if (problems.length) return { mode: 'encode', reason: problems.join(', '), copyAudio: false };
	const container = MP4_FAMILY.test(facts.container) ? 'MP4' : facts.container;
	return {
		mode: 'remux',
		reason: `H.264 ${video.width}x${video.height} in ${container}${copyAudio ? '' : `; audio ${facts.audio?.codec} re-encoded to AAC`}`,
		copyAudio,
	};
}

function videoEncodeArgs(facts: MediaFacts | undefined, params: RenditionParams): string[] {
	const filters = [
		`scale=w='min(iw,${params.maxWidth})':h='min(ih,${params.maxHeight})':force_original_aspect_ratio=decrease`,
		// H.264 4:2:0 needs even dimensions.
		'scale=trunc(iw/2)*2:trunc(ih/2)*2',
	];
	const fps = facts?.video?.fps;
	if (fps === undefined || fps > params.maxFps + 0.01) filters.push(`fps=${params.maxFps}`);
	const args = ['-vf', filters.join(','), '-c:v', 'libx264', '-preset', params.preset, '-crf', String(params.crf), '-pix_fmt', 'yuv420p'];
	if (params.threads > 0) args.push('-threads', String(params.threads));
	return args;
}

function audioEncodeArgs(params: RenditionParams): string[] {
	return ['-c:a', 'aac', '-b:a', `${params.audioBitrateK}k`];
}

const MP4_OUTPUT = ['-movflags', '+faststart', '-f', 'mp4'];

/** ffmpeg argv for the training rendition of one input (a presigned URL or a local file). */
export function renditionArgs(tool: ToolInfo, input: string, output: string, facts: MediaFacts, plan: RenditionPlan, params: RenditionParams, maxBytes: number): string[] {
	const args = ['-hide_banner', '-nostdin', '-y', ...networkInputOptions(tool, input), '-i', input, '-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn'];
	if (plan.mode === 'remux') args.push('-c:v', 'copy');
	else args.push(...videoEncodeArgs(facts, params));
	if (facts.hasAudio) args.push(...(plan.mode === 'remux' && plan.copyAudio ? ['-c:a', 'copy'] : audioEncodeArgs(params)));
	args.push('-fs', String(maxBytes), ...MP4_OUTPUT, output);
	return args;
}

/**
 * Screen video plus a separately recorded call-audio file, aligned by their start times: audio that started
 * later is delayed (`-itsoffset`), audio that started earlier is trimmed (`-ss` on its input); the result is
 * as long as the video (audio padded with silence).
 */
export function mergeAudioArgs(
	tool: ToolInfo,
	video: { input: string; facts: MediaFacts },
	audio: { input: string },
	audioOffsetSec: number,
	output: string,
	params: RenditionParams,
	maxBytes: number,
): string[] {
	const plan = planRendition({ ...video.facts, hasAudio: false, audio: undefined }, params);
	const args = ['-hide_banner', '-nostdin', '-y', ...networkInputOptions(tool, video.input), '-i', video.input];
	if (audioOffsetSec > 0) args.push('-itsoffset', audioOffsetSec.toFixed(3));
	else if (audioOffsetSec < 0) args.push('-ss', (-audioOffsetSec).toFixed(3));
	args.push(...networkInputOptions(tool, audio.input), '-i', audio.input, '-map', '0:v:0', '-map', '1:a:0');
	if (plan.mode === 'remux') args.push('-c:v', 'copy');
	else args.push(...videoEncodeArgs(video.facts, params));
	args.push('-af', 'apad', ...audioEncodeArgs(params), '-shortest', '-fs', String(maxBytes), ...MP4_OUTPUT, output);
	return args;
}

/** An ffconcat list of segment inputs; single quotes inside a name are escaped the way the demuxer reads them. */
export async function writeConcatList(path: string, inputs: string[]): Promise<void> {
	const lines = ['ffconcat version 1.0', ...inputs.map((input) => `file '${input.replace(/'/g, "'\\''")}'`)];
	await writeFile(path, lines.join('\n') + '\n', { mode: 0o600 });
}

/**
 * Ordered segments (e.g. Calabrio's 10-minute screen files) concatenated and cut to the contact: re-encoded,
 * because a copy could only cut at keyframes.
 */
export function spliceArgs(listFile: string, trimStartSec: number, durationSec: number, output: string, params: RenditionParams, maxBytes: number): string[] {
	return [
		'-hide_banner', '-nostdin', '-y',
		'-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file,http,https,tcp,tls,crypto',
		'-i', listFile,
		'-ss', trimStartSec.toFixed(3), '-t', durationSec.toFixed(3),
		'-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn',
		...videoEncodeArgs(undefined, params), ...audioEncodeArgs(params),
		'-fs', String(maxBytes), ...MP4_OUTPUT, output,
	];
}

/** One JPEG frame (default 640 px wide) for the LMS thumbnail. */
export function posterArgs(tool: ToolInfo, input: string, atSec: number, width: number, output: string): string[] {
	return [
		'-hide_banner', '-nostdin', '-y',
		'-ss', atSec.toFixed(3), ...networkInputOptions(tool, input), '-i', input,
		'-frames:v', '1', '-vf', `scale='min(${width},iw)':-2`, '-q:v', '3', '-f', 'image2', output,
	];
}

/** A sensible poster time: the requested second, inside the recording, not its very first frame. */
export function posterTime(requestedSec: number | undefined, durationSec: number | undefined): number {
	const duration = durationSec ?? 0;
	const wanted = requestedSec ?? Math.min(5, duration / 2);
	if (duration <= 0) return Math.max(0, wanted);
	return Math.max(0, Math.min(wanted, duration - 0.5));
}

export interface ProducedObject {
	object: StoredObject;
	ffmpeg: RunResult;
	uploadMs: number;
}

/**
 * Runs ffmpeg into a workspace file, then streams that file into the object store (multipart, bounded
 * memory). The file is removed by the workspace whatever happens.
 */
export async function produceObject(
	ffmpeg: ToolInfo,
	args: string[],
	outputFile: string,
	target: { store: ObjectStoreApi; key: string; contentType: string; metadata?: Record<string, string> },
	options: { timeoutMs: number; signal?: AbortSignal; workspace: Workspace },
): Promise<ProducedObject> {
	const run = await runTool(ffmpeg, args, { timeoutMs: options.timeoutMs, signal: options.signal, stdout: 'ignore' });
	const size = (await stat(outputFile)).size;
	if (size === 0) throw new Error('ffmpeg produced an empty file');
	if (size >= options.workspace.maxBytes) {
		throw new Error(`the output reached the temp space limit (${Math.floor(options.workspace.maxBytes / 1048576)} MiB, Max Temp Space) and was cut`);
	}
	const started = Date.now();
	const object = await target.store.uploadStream(target.key, createReadStream(outputFile, { highWaterMark: 1024 * 1024 }), {
		contentType: target.contentType,
		metadata: target.metadata,
		signal: options.signal,
	});
	return { object, ffmpeg: run, uploadMs: Date.now() - started };
}
