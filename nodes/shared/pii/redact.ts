import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

import { networkInputOptions, probeFacts, type MediaFacts } from '../media/probe';
import { DEFAULT_RENDITION, type RenditionParams } from '../media/transcode';
import { runTool, type ToolInfo } from '../media/tools';
import type { Workspace } from '../media/workspace';
import type { ObjectStoreApi, StoredObject } from '../store/types';

/**
 * Redaction of PII Scan findings: a solid black box over each finding's place for its time range, burnt
 * into a new H.264 MP4. Solid fill, not blur: blurred large glyphs stay partly legible to the eye
 * (reference/media-pii-storage.md §4).
 */

/** One box drawn over the video, in the video's own pixels, shown for `fromSec <= t <= toSec`. */
export interface RedactionRegion {
	x: number;
	y: number;
	w: number;
	h: number;
	fromSec: number;
	toSec: number;
}

/** What a finding must carry to be redacted; a finding without a box or time range cannot be covered. */
export interface RedactableFinding {
	box?: readonly number[];
	atSec?: number;
	untilSec?: number;
}

export interface RedactionPlanOptions {
	/** The frame size the boxes were found in (the scan resolution). */
	scan: { width: number; height: number };
	/** The video's real frame size. */
	video: { width: number; height: number };
	/** Pixels (of the video) added on every side of each box. */
	boxPaddingPx: number;
	/** Seconds added before and after each finding's time range. */
	timePaddingSec: number;
	/** More boxes than this after merging is refused (the filter graph is one argv entry). */
	maxRegions?: number;
}

/** The finding list cannot be turned into boxes: nothing is redacted and the recording stays quarantined. */
export class RedactionError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'RedactionError';
	}
}

export const MAX_REDACTION_REGIONS = 500;

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Turns findings (boxes in scan pixels, times in seconds) into boxes in video pixels: scaled, padded,
 * clamped to the frame and snapped outwards to even pixels (4:2:0 chroma covers 2×2 pixels), with boxes
 * that overlap in place and in time merged into one. Throws RedactionError when a finding cannot be placed.
 */
export function planRedaction(findings: readonly RedactableFinding[], options: RedactionPlanOptions): RedactionRegion[] {
	const { scan, video } = options;
	if (!findings.length) throw new RedactionError('no findings to redact');
	for (const [name, size] of [['scan', scan], ['video', video]] as const) {
		if (!finite(size.width) || !finite(size.height) || size.width <= 0 || size.height <= 0) {
			throw new RedactionError(`the ${name} frame size is unknown`);
		}
	}
	if (!finite(options.boxPaddingPx) || options.boxPaddingPx < 0) throw new RedactionError('box padding must be 0 or more pixels');
	if (!finite(options.timePaddingSec) || options.timePaddingSec < 0) throw new RedactionError('time padding must be 0 or more seconds');
	const scaleX = video.width / scan.width;
	const scaleY = video.height / scan.height;
	const pad = Math.ceil(options.boxPaddingPx);
	const regions: RedactionRegion[] = findings.map((finding, index) => {
		const box = finding.box;
		if (!Array.isArray(box) || box.length !== 4 || !box.every(finite) || box[2] <= 0 || box[3] <= 0) {
			throw new RedactionError(`finding ${index + 1} has no box`);
		}
		if (!finite(finding.atSec) || !finite(finding.untilSec) || finding.untilSec < finding.atSec) {
			throw new RedactionError(`finding ${index + 1} has no time range`);
		}
		const [x, y, w, h] = box;
		const x0 = evenDown(Math.max(0, Math.floor(x * scaleX) - pad));
		const y0 = evenDown(Math.max(0, Math.floor(y * scaleY) - pad));
		const x1 = Math.min(video.width, evenUp(Math.ceil((x + w) * scaleX) + pad));
		const y1 = Math.min(video.height, evenUp(Math.ceil((y + h) * scaleY) + pad));
		if (x1 <= x0 || y1 <= y0) throw new RedactionError(`finding ${index + 1} lies outside the ${video.width}x${video.height} frame`);
		return {
			x: x0,
			y: y0,
			w: x1 - x0,
			h: y1 - y0,
			fromSec: Math.floor(Math.max(0, finding.atSec - options.timePaddingSec) * 1000) / 1000,
			toSec: Math.ceil((finding.untilSec + options.timePaddingSec) * 1000) / 1000,
		};
	});
	const merged = mergeRegions(regions);
	const maxRegions = options.maxRegions ?? MAX_REDACTION_REGIONS;
	if (merged.length > maxRegions) throw new RedactionError(`${merged.length} boxes to draw; at most ${maxRegions}`);
	return merged;
}

/** planRedaction for callers that route on the outcome: the boxes, or why the findings cannot be redacted. */
export function tryPlanRedaction(findings: readonly RedactableFinding[], options: RedactionPlanOptions): { regions: RedactionRegion[] } | { problem: string } {
	try {
		return { regions: planRedaction(findings, options) };
	} catch (error) {
		if (error instanceof RedactionError) return { problem: error.message };
		throw error;
	}
}

const evenDown = (value: number) => value - (value % 2);
const evenUp = (value: number) => value + (value % 2);

const overlaps = (a: RedactionRegion, b: RedactionRegion) =>
	a.x <= b.x + b.w && b.x <= a.x + a.w && a.y <= b.y + b.h && b.y <= a.y + a.h && a.fromSec <= b.toSec && b.fromSec <= a.toSec;

/** Boxes that touch or overlap in place and in time become their union (covering a little more is safe). */
export function mergeRegions(regions: readonly RedactionRegion[]): RedactionRegion[] {
	const pending = regions.map((region) => ({ ...region }));
	let changed = true;
	while (changed) {
		changed = false;
		for (let a = 0; a < pending.length && !changed; a++) {
			for (let b = a + 1; b < pending.length; b++) {
				if (!overlaps(pending[a], pending[b])) continue;
				const first = pending[a];
				const second = pending[b];
				const x = Math.min(first.x, second.x);
				const y = Math.min(first.y, second.y);
				pending[a] = {
					x,
					y,
					w: Math.max(first.x + first.w, second.x + second.w) - x,
					h: Math.max(first.y + first.h, second.y + second.h) - y,
					fromSec: Math.min(first.fromSec, second.fromSec),
					toSec: Math.max(first.toSec, second.toSec),
				};
				pending.splice(b, 1);
				changed = true;
				break;
			}
		}
	}
	return pending.sort((a, b) => a.fromSec - b.fromSec || a.y - b.y || a.x - b.x);
}

/**
 * The `-vf` filter graph: one filled drawbox per region, enabled only for its time range. Every value is a
 * number we formatted, so the graph is safe as one argv entry (no shell, nothing from the recording).
 * Odd frame sizes are trimmed by one pixel afterwards, because H.264 4:2:0 needs even dimensions.
 */
export function redactionFilter(regions: readonly RedactionRegion[], video: { width: number; height: number }): string {
	if (!regions.length) throw new RedactionError('no findings to redact');
	const filters = regions.map(
		(region) =>
			`drawbox=x=${region.x}:y=${region.y}:w=${region.w}:h=${region.h}:color=black:t=fill:enable='between(t,${region.fromSec.toFixed(3)},${region.toSec.toFixed(3)})'`,
	);
	if (video.width % 2 || video.height % 2) filters.push('scale=trunc(iw/2)*2:trunc(ih/2)*2');
	return filters.join(',');
}

export type RedactionEncoding = Pick<RenditionParams, 'preset' | 'crf' | 'audioBitrateK' | 'threads'>;

/** The Training Rendition's encoder settings: the redacted file plays wherever the rendition plays. */
export const DEFAULT_REDACTION_ENCODING: RedactionEncoding = {
	preset: DEFAULT_RENDITION.preset,
	crf: DEFAULT_RENDITION.crf,
	audioBitrateK: DEFAULT_RENDITION.audioBitrateK,
	threads: DEFAULT_RENDITION.threads,
};

/** ffmpeg argv: the input (a presigned URL or a file) streamed through the boxes into MP4 H.264/AAC +faststart. */
export function redactionArgs(
	tool: ToolInfo,
	input: string,
	output: string,
	facts: MediaFacts,
	regions: readonly RedactionRegion[],
	encoding: RedactionEncoding,
	maxBytes: number,
): string[] {
	if (!facts.video) throw new RedactionError('the recording has no video stream');
	const args = [
		'-hide_banner', '-nostdin', '-y', '-v', 'error',
		...networkInputOptions(tool, input), '-i', input,
		'-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn',
		// Container tags and chapters of a contact recording can name the customer: none go into a public file.
		'-map_metadata', '-1', '-map_chapters', '-1',
		'-vf', redactionFilter(regions, facts.video),
		'-c:v', 'libx264', '-preset', encoding.preset, '-crf', String(encoding.crf), '-pix_fmt', 'yuv420p',
	];
	if (encoding.threads > 0) args.push('-threads', String(encoding.threads));
	if (facts.hasAudio) args.push(...(facts.audio?.codec === 'aac' ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', `${encoding.audioBitrateK}k`]));
	args.push('-fs', String(maxBytes), '-movflags', '+faststart', '-f', 'mp4', output);
	return args;
}

export interface RedactedRendition {
	object: StoredObject;
	facts: MediaFacts;
	regions: RedactionRegion[];
	ffmpegMs: number;
	uploadMs: number;
}

/**
 * Streams `input` through the boxes into a workspace file (+faststart needs a seekable output), checks that
 * the result is a whole H.264 video, then streams it to `target.key` (multipart, bounded memory). The
 * workspace removes the file whatever happens.
 */
export async function redactRecording(
	tools: { ffmpeg: ToolInfo; ffprobe: ToolInfo },
	input: { url: string; facts: MediaFacts },
	regions: RedactionRegion[],
	target: { store: ObjectStoreApi; key: string; sourceKey: string },
	options: { encoding: RedactionEncoding; timeoutMs: number; signal?: AbortSignal; workspace: Workspace },
): Promise<RedactedRendition> {
	const output = options.workspace.path('redacted.mp4');
	const args = redactionArgs(tools.ffmpeg, input.url, output, input.facts, regions, options.encoding, options.workspace.maxBytes);
	const run = await runTool(tools.ffmpeg, args, { timeoutMs: options.timeoutMs, signal: options.signal, stdout: 'ignore' });
	const size = (await stat(output)).size;
	if (size === 0) throw new Error('ffmpeg produced an empty redacted file');
	if (size >= options.workspace.maxBytes) {
		throw new Error(`the redacted file reached the temp space limit (${Math.floor(options.workspace.maxBytes / 1048576)} MiB, Max Temp Space) and was cut`);
	}
	// Checked before upload: a broken or cut file never lands in the bucket.
	const facts = await probeFacts(tools.ffprobe, output, { timeoutMs: 60_000, signal: options.signal });
	if (facts.video?.codec !== 'h264') throw new Error(`the redacted file has no H.264 video (${facts.codecs.join(', ') || 'no streams'})`);
	const sourceSec = input.facts.durationSec;
	// A cut file would re-scan clean for the part that is missing: a short result is a failure, not a pass.
	if (sourceSec !== undefined && (facts.durationSec ?? 0) < sourceSec - 1) {
		throw new Error(`the redacted file is ${facts.durationSec ?? 0} s long, the source ${sourceSec} s`);
	}
	const started = Date.now();
	const object = await target.store.uploadStream(target.key, createReadStream(output, { highWaterMark: 1024 * 1024 }), {
		contentType: 'video/mp4',
		metadata: { 'cx-source': target.sourceKey.slice(0, 512), 'cx-redacted-boxes': String(regions.length) },
		signal: options.signal,
	});
	return { object, facts, regions, ffmpegMs: run.wallMs, uploadMs: Date.now() - started };
}
