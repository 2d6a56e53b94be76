import { MediaToolError, redactUrls, runTool, type ToolInfo } from './tools';

/** What ffprobe says about a file: container and streams. */
export interface MediaFacts {
	container: string;
	durationSec?: number;
	bitRate?: number;
	hasVideo: boolean;
	hasAudio: boolean;
	codecs: string[];
	video?: { codec: string; width: number; height: number; fps?: number; pixelFormat?: string; bitRate?: number };
	audio?: { codec: string; sampleRate?: number; channels?: number; bitRate?: number };
}

/** What one decoding pass over the content says: black frames, silence, decode errors. */
export interface ContentFacts {
	mode: 'keyframes' | 'full';
	/** Share of the analysed frames that are black (blackframe), 0..1. */
	blackRatio?: number;
	/** Peak and mean level of the first audio track (volumedetect), in dBFS. */
	maxVolumeDb?: number;
	meanVolumeDb?: number;
	/** Where decoding ended, from ffmpeg's progress (a truncated file ends early). */
	decodedSec?: number;
	framesAnalysed?: number;
	decodeErrors: string[];
}

export class MediaProbeError extends Error {
	constructor(
		message: string,
		readonly reason: 'unreadable' | 'no_streams',
	) {
		super(message);
		this.name = 'MediaProbeError';
	}
}

interface FfprobeStream {
	codec_type?: string;
	codec_name?: string;
	width?: number;
	height?: number;
	avg_frame_rate?: string;
	r_frame_rate?: string;
	pix_fmt?: string;
	bit_rate?: string;
	sample_rate?: string;
	channels?: number;
	duration?: string;
	disposition?: { attached_pic?: number };
	tags?: Record<string, string>;
}

interface FfprobeOutput {
	format?: { format_name?: string; duration?: string; bit_rate?: string };
	streams?: FfprobeStream[];
}

/**
 * Options that make ffmpeg/ffprobe fail instead of hanging on a stalled HTTP source, and reconnect after a
 * dropped connection (`-reconnect_on_network_error` arrived in ffmpeg 4.3; the 2018 npm build lacks it).
 */
export function networkInputOptions(tool: ToolInfo, input: string): string[] {
	if (!/^https?:/i.test(input)) return [];
	const options = ['-rw_timeout', '30000000', '-reconnect', '1'];
	if (tool.reconnectOnNetworkError) options.push('-reconnect_on_network_error', '1');
	return options;
}

export async function probeFacts(ffprobe: ToolInfo, input: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<MediaFacts> {
	let output: FfprobeOutput;
	try {
		const result = await runTool(
			ffprobe,
			['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...networkInputOptions(ffprobe, input), '-i', input],
			{ timeoutMs: options.timeoutMs, signal: options.signal, stdout: 'collect', maxStdoutBytes: 4 * 1024 * 1024 },
		);
		output = JSON.parse(result.stdout.toString('utf8')) as FfprobeOutput;
	} catch (error) {
		if (error instanceof MediaToolError) {
			if (error.timedOut || /cancelled/.test(error.message)) throw error;
			throw new MediaProbeError(`not a readable media file (${redactUrls(error.message)})`, 'unreadable');
		}
		throw error;
	}
	return factsFromFfprobe(output);
}

export function factsFromFfprobe(output: FfprobeOutput): MediaFacts {
	const streams = output.streams ?? [];
	// Cover art in an audio file is a "video" stream with the attached_pic disposition: not a picture track.
	const video = streams.find((stream) => stream.codec_type === 'video' && !stream.disposition?.attached_pic);
	const audio = streams.find((stream) => stream.codec_type === 'audio');
	if (!video && !audio) throw new MediaProbeError('no audio or video stream found', 'no_streams');
	const durationSec = positiveNumber(output.format?.duration) ?? positiveNumber(video?.duration) ?? positiveNumber(audio?.duration);
	const facts: MediaFacts = {
		container: output.format?.format_name ?? 'unknown',
		hasVideo: Boolean(video),
		hasAudio: Boolean(audio),
		codecs: [video?.codec_name, audio?.codec_name].filter((codec): codec is string => Boolean(codec)),
	};
	if (durationSec !== undefined) facts.durationSec = round(durationSec, 3);
	const bitRate = positiveNumber(output.format?.bit_rate);
	if (bitRate !== undefined) facts.bitRate = Math.round(bitRate);
	if (video) {
		facts.video = {
			codec: video.codec_name ?? 'unknown',
			width: video.width ?? 0,
			height: video.height ?? 0,
		};
		const fps = frameRate(video.avg_frame_rate) ?? frameRate(video.r_frame_rate);
		if (fps !== undefined) facts.video.fps = round(fps, 3);
		if (video.pix_fmt) facts.video.pixelFormat = video.pix_fmt;
		const videoBitRate = positiveNumber(video.bit_rate);
		if (videoBitRate !== undefined) facts.video.bitRate = Math.round(videoBitRate);
	}
	if (audio) {
		facts.audio = { codec: audio.codec_name ?? 'unknown' };
		const sampleRate = positiveNumber(audio.sample_rate);
		if (sampleRate !== undefined) facts.audio.sampleRate = sampleRate;
		if (audio.channels) facts.audio.channels = audio.channels;
		const audioBitRate = positiveNumber(audio.bit_rate);
		if (audioBitRate !== undefined) facts.audio.bitRate = Math.round(audioBitRate);
	}
	return facts;
}

/**
 * One decoding pass: blackframe on the video, volumedetect on the audio, output discarded. `keyframes`
 * decodes only keyframes (about 5× faster on VP8 screen recordings; the black ratio is then the share of
 * black keyframes), `full` decodes every frame.
 */
export async function analyseContent(
	ffmpeg: ToolInfo,
	input: string,
	facts: MediaFacts,
	options: { mode: 'keyframes' | 'full'; pixelThreshold: number; timeoutMs: number; signal?: AbortSignal },
): Promise<ContentFacts> {
	const args = ['-hide_banner', '-nostdin', '-v', 'info', '-nostats'];
	if (options.mode === 'keyframes' && facts.hasVideo) args.push('-skip_frame:v', 'nokey');
	args.push(...networkInputOptions(ffmpeg, input), '-i', input);
	// blackframe: a frame is black when 98 % of its pixels are darker than the threshold (0-255 luma).
	if (facts.hasVideo) args.push('-map', '0:v:0', '-vf', `blackframe=amount=98:threshold=${Math.round(options.pixelThreshold * 255)}`);
	if (facts.hasAudio) args.push('-map', '0:a:0', '-af', 'volumedetect');
	args.push('-progress', 'pipe:2', '-f', 'null', '-');

	let blackFrames = 0;
	let frames = 0;
	let lastOutTimeSec: number | undefined;
	let maxVolumeDb: number | undefined;
	let meanVolumeDb: number | undefined;
	const decodeErrors: string[] = [];
	await runTool(ffmpeg, args, {
		timeoutMs: options.timeoutMs,
		signal: options.signal,
		stdout: 'ignore',
		onStderrLine: (line) => {
			if (/\] frame:\d+ pblack:\d+/.test(line)) blackFrames++;
			const frameCount = /^frame=(\d+)/.exec(line);
			if (frameCount) frames = Number(frameCount[1]);
			const outTime = /^out_time_us=(\d+)/.exec(line) ?? /^out_time_ms=(\d+)/.exec(line);
			if (outTime) lastOutTimeSec = Number(outTime[1]) / 1e6;
			const maxVolume = /max_volume:\s*(-?[\d.]+|-inf) dB/.exec(line);
			if (maxVolume) maxVolumeDb = maxVolume[1] === '-inf' ? -Infinity : Number(maxVolume[1]);
			const meanVolume = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(line);
			if (meanVolume) meanVolumeDb = meanVolume[1] === '-inf' ? -Infinity : Number(meanVolume[1]);
			if (/(error|invalid|corrupt|truncat|premature|EBML header parsing failed)/i.test(line) && !/^\w+=/.test(line) && decodeErrors.length < 10) {
				decodeErrors.push(redactUrls(line).slice(0, 200));
			}
		},
	});
	const content: ContentFacts = { mode: options.mode, decodeErrors };
	if (facts.hasVideo && frames > 0) {
		content.blackRatio = round(Math.min(1, blackFrames / frames), 3);
		content.framesAnalysed = frames;
	}
	if (maxVolumeDb !== undefined) content.maxVolumeDb = maxVolumeDb;
	if (meanVolumeDb !== undefined) content.meanVolumeDb = meanVolumeDb;
	if (lastOutTimeSec !== undefined) content.decodedSec = round(lastOutTimeSec, 3);
	return content;
}

function positiveNumber(value: string | number | undefined): number | undefined {
	const number = typeof value === 'number' ? value : value === undefined ? NaN : Number(value);
	return Number.isFinite(number) && number > 0 ? number : undefined;
}

function frameRate(value: string | undefined): number | undefined {
	if (!value) return undefined;
	const [numerator, denominator] = value.split('/').map(Number);
	if (!numerator || !denominator) return undefined;
	return numerator / denominator;
}

function round(value: number, digits: number): number {
	const factor = 10 ** digits;
	return Math.round(value * factor) / factor;
}

export interface ProbeThresholds {
	/** blackVideo when at least this share of the duration is black (default 0.9). */
	blackRatio: number;
	/** silentAudio when the audio track never gets louder than this, in dBFS (default -50). */
	silenceDb: number;
}

/** `RecordingRef.probe`, with the facts behind each flag. */
export interface ProbeSummary {
	hasVideo: boolean;
	hasAudio: boolean;
	silentAudio: boolean;
	blackVideo: boolean;
	width?: number;
	height?: number;
	codecs: string[];
	container: string;
	durationSec?: number;
	fps?: number;
	bitRate?: number;
	sizeBytes?: number;
	blackRatio?: number;
	maxVolumeDb?: number | null;
	analysis: 'keyframes' | 'full' | 'off';
	/** What the LMS side must know: `video_only_no_audio`, `silent_audio`, `black_video`, `audio_only`, `decode_errors`. */
	flags: string[];
	warnings: string[];
}

export function summariseProbe(
	facts: MediaFacts,
	content: ContentFacts | undefined,
	thresholds: ProbeThresholds,
	sizeBytes?: number,
): ProbeSummary {
	const blackVideo = facts.hasVideo && content?.blackRatio !== undefined && content.blackRatio >= thresholds.blackRatio;
	const silentAudio = facts.hasAudio && content?.maxVolumeDb !== undefined && content.maxVolumeDb <= thresholds.silenceDb;
	const flags: string[] = [];
	if (facts.hasVideo && !facts.hasAudio) flags.push('video_only_no_audio');
	if (!facts.hasVideo) flags.push('audio_only');
	if (silentAudio) flags.push('silent_audio');
	if (blackVideo) flags.push('black_video');
	if (content?.decodeErrors.length) flags.push('decode_errors');
	const summary: ProbeSummary = {
		hasVideo: facts.hasVideo,
		hasAudio: facts.hasAudio,
		silentAudio,
		blackVideo,
		codecs: facts.codecs,
		container: facts.container,
		analysis: content?.mode ?? 'off',
		flags,
		warnings: content?.decodeErrors ?? [],
	};
	if (facts.video) {
		summary.width = facts.video.width;
		summary.height = facts.video.height;
		if (facts.video.fps !== undefined) summary.fps = facts.video.fps;
	}
	if (facts.durationSec !== undefined) summary.durationSec = facts.durationSec;
	if (facts.bitRate !== undefined) summary.bitRate = facts.bitRate;
	if (sizeBytes !== undefined) summary.sizeBytes = sizeBytes;
	if (content?.blackRatio !== undefined) summary.blackRatio = content.blackRatio;
	// JSON has no -Infinity: digital silence is reported as null with silentAudio true.
	if (content?.maxVolumeDb !== undefined) summary.maxVolumeDb = Number.isFinite(content.maxVolumeDb) ? content.maxVolumeDb : null;
	return summary;
}

/**
 * A file whose decoding ends well before the duration its header announces was cut short (an interrupted
 * upload or export). Keyframe mode only sees keyframes, so it allows one keyframe interval more.
 */
export function truncationOf(facts: MediaFacts, content: ContentFacts): string | undefined {
	if (!facts.durationSec || content.decodedSec === undefined) return undefined;
	const slack = content.mode === 'keyframes' ? Math.max(15, facts.durationSec * 0.1) : Math.max(2, facts.durationSec * 0.02);
	if (facts.durationSec - content.decodedSec > slack) {
		return `decoding stopped at ${content.decodedSec.toFixed(1)} s of ${facts.durationSec.toFixed(1)} s`;
	}
	return undefined;
}
