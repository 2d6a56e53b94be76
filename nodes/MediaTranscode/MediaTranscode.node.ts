import { readFile } from 'node:fs/promises';

import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { probeFacts } from '../shared/media/probe';
import {
	DEFAULT_RENDITION,
	mergeAudioArgs,
	planRendition,
	posterArgs,
	posterTime,
	produceObject,
	renditionArgs,
	spliceArgs,
	writeConcatList,
	type RenditionParams,
} from '../shared/media/transcode';
import { withWorkspace, type Workspace } from '../shared/media/workspace';
import { credentialTest } from '../shared/n8n/credentialTests';
import { h264QualityOptions, mediaError, mediaToolOptions, mediaToolsFor, readableObject, toolVersions, type MediaTools } from '../shared/n8n/media';
import { objectStoreFor } from '../shared/n8n/resources';
import type { ObjectStore } from '../shared/store/objectStore';

type Operation = 'rendition' | 'mergeCallAudio' | 'spliceSegments' | 'poster';

const renditionOptions: INodeProperties[] = [
	{ displayName: 'Max Width', name: 'maxWidth', type: 'number', typeOptions: { minValue: 160, maxValue: 7680 }, default: 1920, description: 'Larger videos are scaled down, keeping the aspect ratio' },
	{ displayName: 'Max Height', name: 'maxHeight', type: 'number', typeOptions: { minValue: 120, maxValue: 4320 }, default: 1080 },
	{ displayName: 'Max Frame Rate', name: 'maxFps', type: 'number', typeOptions: { minValue: 1, maxValue: 60 }, default: 15, description: 'Screen content rarely needs more; applied when re-encoding' },
	...h264QualityOptions,
	{ displayName: 'Audio Bitrate (Kbit/s)', name: 'audioBitrateK', type: 'number', typeOptions: { minValue: 32, maxValue: 320 }, default: 96 },
	{
		displayName: 'Remux When Compatible',
		name: 'remuxWhenCompatible',
		type: 'boolean',
		default: true,
		description: 'Whether to copy H.264 video into MP4 without re-encoding when the input already plays everywhere (seconds instead of minutes)',
	},
];

const commonOptions: INodeProperties[] = [
	{
		displayName: 'Max Temp Space (MiB)',
		name: 'maxTempMiB',
		type: 'number',
		typeOptions: { minValue: 16 },
		default: 4096,
		description: 'Largest output file written to the temp folder before it is streamed to the object store; the job fails cleanly above it',
	},
	{ displayName: 'Temp Folder', name: 'tempDir', type: 'string', default: '', description: 'Where the output file is written before upload; empty means the system temp folder. Always cleaned up.' },
	...mediaToolOptions,
];

const show = (...operation: Operation[]) => ({ show: { operation } });

export class MediaTranscode implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Media Transcode',
		name: 'mediaTranscode',
		icon: { light: 'file:mediaTranscode.svg', dark: 'file:mediaTranscode.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Make an MP4 rendition every LMS plays, merge call audio, splice segments or take a poster frame — streamed, next to the original',
		defaults: { name: 'Media Transcode' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#media-transcode',
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [{ name: 'cxObjectStoreApi', required: true, testedBy: 'cxObjectStoreTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Training Rendition', value: 'rendition', description: 'MP4 H.264/AAC with faststart; remuxed when already compatible', action: 'Make a training rendition' },
					{ name: 'Merge Call Audio', value: 'mergeCallAudio', description: 'Screen video plus separately recorded call audio, aligned by start times', action: 'Merge call audio into the screen video' },
					{ name: 'Splice Segments', value: 'spliceSegments', description: 'Concatenate ordered screen segments and cut them to the contact', action: 'Splice segments to the contact' },
					{ name: 'Poster', value: 'poster', description: 'One JPEG frame for the LMS thumbnail', action: 'Take a poster frame' },
				],
				default: 'rendition',
			},
			{
				displayName: 'Object Key',
				name: 'objectKey',
				type: 'string',
				required: true,
				default: '={{ $json.object.key }}',
				description: 'The staged recording (for Merge Call Audio: the screen video)',
				displayOptions: show('rendition', 'mergeCallAudio', 'poster'),
			},
			{
				displayName: 'Call Audio Object Key',
				name: 'audioKey',
				type: 'string',
				required: true,
				default: '={{ $json.callAudio.key }}',
				displayOptions: show('mergeCallAudio'),
			},
			{
				displayName: 'Video Start Time',
				name: 'videoStart',
				type: 'string',
				default: '={{ $json.startTime }}',
				description: 'When the screen recording started (ISO 8601)',
				displayOptions: show('mergeCallAudio'),
			},
			{
				displayName: 'Call Audio Start Time',
				name: 'audioStart',
				type: 'string',
				default: '={{ $json.callAudio.startTime }}',
				description: 'When the call audio started (ISO 8601); the audio is shifted by the difference',
				displayOptions: show('mergeCallAudio'),
			},
			{
				displayName: 'Segments',
				name: 'segments',
				type: 'json',
				default: '={{ $json.segments }}',
				description: 'Array of {"key": "...", "startTime": "ISO 8601"} in the object store, in any order; they are sorted by start time',
				displayOptions: show('spliceSegments'),
			},
			{
				displayName: 'Contact Start Time',
				name: 'contactStart',
				type: 'string',
				default: '={{ $json.startTime }}',
				displayOptions: show('spliceSegments'),
			},
			{
				displayName: 'Contact End Time',
				name: 'contactEnd',
				type: 'string',
				default: '={{ $json.endTime }}',
				displayOptions: show('spliceSegments'),
			},
			{
				displayName: 'Output Key',
				name: 'outputKey',
				type: 'string',
				required: true,
				default: '={{ ($json.object?.key ?? $json.segments?.[0]?.key ?? "").replace(/[^/]+$/, "training.mp4") }}',
				description: 'Where the MP4 goes: by default training.mp4 next to the original',
				displayOptions: show('rendition', 'mergeCallAudio', 'spliceSegments'),
			},
			{
				displayName: 'Make Poster Too',
				name: 'withPoster',
				type: 'boolean',
				default: true,
				description: 'Whether to also write poster.jpg next to the output for the LMS thumbnail',
				displayOptions: show('rendition', 'mergeCallAudio', 'spliceSegments'),
			},
			{
				displayName: 'Poster Key',
				name: 'posterKey',
				type: 'string',
				default: '={{ ($json.object?.key ?? $json.segments?.[0]?.key ?? "").replace(/[^/]+$/, "poster.jpg") }}',
				displayOptions: show('rendition', 'mergeCallAudio', 'spliceSegments', 'poster'),
			},
			{
				displayName: 'Poster At (Seconds)',
				name: 'posterAtSec',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 5,
				displayOptions: show('rendition', 'mergeCallAudio', 'spliceSegments', 'poster'),
			},
			{
				displayName: 'Poster Width',
				name: 'posterWidth',
				type: 'number',
				typeOptions: { minValue: 64, maxValue: 1920 },
				default: 640,
				displayOptions: show('rendition', 'mergeCallAudio', 'spliceSegments', 'poster'),
			},
			{
				displayName: 'Attach Poster as Binary',
				name: 'attachPoster',
				type: 'boolean',
				default: false,
				description: 'Whether to also put the poster JPEG on the item as binary data (it is small)',
				displayOptions: show('poster'),
			},
			{
				displayName: 'Encoding',
				name: 'encoding',
				type: 'collection',
				placeholder: 'Add Setting',
				default: {},
				options: renditionOptions,
				displayOptions: show('rendition', 'mergeCallAudio', 'spliceSegments'),
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: commonOptions,
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const returnData: INodeExecutionData[] = [];
		const operation = this.getNodeParameter('operation', 0) as Operation;
		for (let i = 0; i < items.length; i++) {
			let key = '';
			try {
				key = operation === 'spliceSegments' ? 'segments' : (this.getNodeParameter('objectKey', i, '') as string);
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				const tools = mediaToolsFor(this, options, i);
				const store = await objectStoreFor(this, i);
				const maxBytes = Number(options.maxTempMiB ?? 4096) * 1048576;
				const result = await withWorkspace({ maxBytes, root: (options.tempDir as string) || undefined }, async (workspace) => {
					const job: Job = { ctx: this, itemIndex: i, store, tools, workspace, signal: this.getExecutionCancelSignal() };
					if (operation === 'poster') return await posterOnly(job, key, items[i]);
					return await produceVideo(job, operation, key);
				});
				returnData.push({
					json: { ...items[i].json, ...result.json },
					binary: result.binary ?? items[i].binary,
					pairedItem: { item: i },
				});
			} catch (error) {
				const nodeError = mediaError(this, error, key, i);
				if (this.continueOnFail()) {
					returnData.push({ json: { ...items[i].json, error: nodeError.message }, pairedItem: { item: i } });
					continue;
				}
				throw nodeError;
			}
		}
		return [returnData];
	}
}

interface Job {
	ctx: IExecuteFunctions;
	itemIndex: number;
	store: ObjectStore;
	tools: MediaTools;
	workspace: Workspace;
	signal?: AbortSignal;
}

function renditionParams(ctx: IExecuteFunctions, itemIndex: number): RenditionParams {
	const encoding = ctx.getNodeParameter('encoding', itemIndex, {}) as IDataObject;
	return { ...DEFAULT_RENDITION, ...(encoding as Partial<RenditionParams>) };
}

function isoTime(ctx: IExecuteFunctions, name: string, field: string, itemIndex: number): number {
	const value = ctx.getNodeParameter(name, itemIndex, '') as string;
	const ms = Date.parse(value);
	if (!value || Number.isNaN(ms)) {
		throw new NodeOperationError(ctx.getNode(), `${field} must be an ISO 8601 time; got ${JSON.stringify(String(value).slice(0, 40))}`, {
			itemIndex,
			description: `Field: ${field}`,
		});
	}
	return ms;
}

interface Segment {
	key: string;
	startMs: number;
}

function segmentsParam(ctx: IExecuteFunctions, itemIndex: number): Segment[] {
	let raw = ctx.getNodeParameter('segments', itemIndex, []) as unknown;
	if (typeof raw === 'string') {
		try {
			raw = JSON.parse(raw);
		} catch {
			raw = undefined;
		}
	}
	const fail = (reason: string) =>
		new NodeOperationError(ctx.getNode(), `Segments ${reason}`, { itemIndex, description: 'Field: Segments — an array of {"key", "startTime"}' });
	if (!Array.isArray(raw) || raw.length === 0) throw fail('must be a non-empty array');
	if (raw.length > 500) throw fail(`has ${raw.length} entries; at most 500`);
	const segments = raw.map((entry: unknown, index: number) => {
		const segment = entry as { key?: unknown; startTime?: unknown };
		if (typeof segment?.key !== 'string' || !segment.key) throw fail(`[${index}].key must be an object key`);
		const startMs = typeof segment.startTime === 'string' ? Date.parse(segment.startTime) : NaN;
		if (Number.isNaN(startMs)) throw fail(`[${index}].startTime must be an ISO 8601 time`);
		return { key: segment.key, startMs };
	});
	return segments.sort((a, b) => a.startMs - b.startMs);
}

async function produceVideo(job: Job, operation: Exclude<Operation, 'poster'>, key: string): Promise<{ json: IDataObject; binary?: INodeExecutionData['binary'] }> {
	const { ctx, itemIndex, store, tools, workspace, signal } = job;
	const params = renditionParams(ctx, itemIndex);
	const outputKey = ctx.getNodeParameter('outputKey', itemIndex) as string;
	const output = workspace.path('output.mp4');
	let args: string[];
	let mode: string;
	let reason: string;
	let sources: string[];
	if (operation === 'rendition') {
		const input = await readableObject(ctx, store, key, itemIndex, 'Object Key');
		const facts = await probeFacts(tools.ffprobe, input.url, { timeoutMs: tools.timeoutMs, signal });
		const plan = planRendition(facts, params);
		args = renditionArgs(tools.ffmpeg, input.url, output, facts, plan, params, workspace.maxBytes);
		({ mode, reason } = plan);
		sources = [key];
	} else if (operation === 'mergeCallAudio') {
		const audioKey = ctx.getNodeParameter('audioKey', itemIndex, '') as string;
		const offsetSec = (isoTime(ctx, 'audioStart', 'Call Audio Start Time', itemIndex) - isoTime(ctx, 'videoStart', 'Video Start Time', itemIndex)) / 1000;
		const video = await readableObject(ctx, store, key, itemIndex, 'Object Key');
		const audio = await readableObject(ctx, store, audioKey, itemIndex, 'Call Audio Object Key');
		const facts = await probeFacts(tools.ffprobe, video.url, { timeoutMs: tools.timeoutMs, signal });
		const audioFacts = await probeFacts(tools.ffprobe, audio.url, { timeoutMs: tools.timeoutMs, signal });
		if (!audioFacts.hasAudio) {
			throw new NodeOperationError(ctx.getNode(), `Object ${audioKey} has no audio stream`, { itemIndex, description: 'Field: Call Audio Object Key' });
		}
		args = mergeAudioArgs(tools.ffmpeg, { input: video.url, facts }, { input: audio.url }, offsetSec, output, params, workspace.maxBytes);
		mode = planRendition({ ...facts, hasAudio: false }, params).mode;
		reason = `call audio ${offsetSec >= 0 ? 'delayed' : 'trimmed'} by ${Math.abs(offsetSec).toFixed(3)} s`;
		sources = [key, audioKey];
	} else {
		const segments = segmentsParam(ctx, itemIndex);
		const contactStart = isoTime(ctx, 'contactStart', 'Contact Start Time', itemIndex);
		const contactEnd = isoTime(ctx, 'contactEnd', 'Contact End Time', itemIndex);
		if (contactEnd <= contactStart) {
			throw new NodeOperationError(ctx.getNode(), 'Contact End Time must be after Contact Start Time', { itemIndex, description: 'Field: Contact End Time' });
		}
		if (contactStart < segments[0].startMs) {
			throw new NodeOperationError(ctx.getNode(), 'The contact starts before the first segment: a segment is missing', { itemIndex, description: 'Field: Segments' });
		}
		const urls: string[] = [];
		for (const [index, segment] of segments.entries()) urls.push((await readableObject(ctx, store, segment.key, itemIndex, `Segments[${index}].key`)).url);
		const list = workspace.path('segments.ffconcat');
		await writeConcatList(list, urls);
		args = spliceArgs(list, (contactStart - segments[0].startMs) / 1000, (contactEnd - contactStart) / 1000, output, params, workspace.maxBytes);
		mode = 'encode';
		reason = `${segments.length} segments cut to ${((contactEnd - contactStart) / 1000).toFixed(1)} s`;
		sources = segments.map((segment) => segment.key);
	}
	const produced = await produceObject(tools.ffmpeg, args, output, { store, key: outputKey, contentType: 'video/mp4', metadata: { 'cx-source': sources[0].slice(0, 512) } }, {
		timeoutMs: tools.timeoutMs,
		signal,
		workspace,
	});
	const outputFacts = await probeFacts(tools.ffprobe, output, { timeoutMs: 60_000, signal });
	const rendition: IDataObject = {
		key: produced.object.key,
		contentType: 'video/mp4',
		durationSec: outputFacts.durationSec ?? 0,
		sizeBytes: produced.object.size,
		sha256: produced.object.sha256,
		width: outputFacts.video?.width,
		height: outputFacts.video?.height,
		codecs: outputFacts.codecs,
		mode,
		reason,
		sources,
		ffmpegMs: produced.ffmpeg.wallMs,
		uploadMs: produced.uploadMs,
		tools: toolVersions(tools),
	};
	if (ctx.getNodeParameter('withPoster', itemIndex, true) as boolean) {
		const poster = await makePoster(job, output, outputFacts.durationSec);
		rendition.posterKey = poster.key;
	}
	return { json: { rendition } };
}

async function makePoster(job: Job, input: string, durationSec: number | undefined): Promise<{ key: string; file: string; size: number }> {
	const { ctx, itemIndex, store, tools, workspace, signal } = job;
	const posterKey = ctx.getNodeParameter('posterKey', itemIndex) as string;
	const atSec = posterTime(ctx.getNodeParameter('posterAtSec', itemIndex, 5) as number, durationSec);
	const width = ctx.getNodeParameter('posterWidth', itemIndex, 640) as number;
	const file = workspace.path('poster.jpg');
	const produced = await produceObject(tools.ffmpeg, posterArgs(tools.ffmpeg, input, atSec, width, file), file, { store, key: posterKey, contentType: 'image/jpeg' }, {
		timeoutMs: Math.min(tools.timeoutMs, 300_000),
		signal,
		workspace,
	});
	return { key: produced.object.key, file, size: produced.object.size };
}

async function posterOnly(job: Job, key: string, item: INodeExecutionData): Promise<{ json: IDataObject; binary?: INodeExecutionData['binary'] }> {
	const { ctx, itemIndex, store, tools, signal } = job;
	const input = await readableObject(ctx, store, key, itemIndex, 'Object Key');
	const facts = await probeFacts(tools.ffprobe, input.url, { timeoutMs: tools.timeoutMs, signal });
	if (!facts.hasVideo) throw new NodeOperationError(ctx.getNode(), `Object ${key} has no video stream: no poster`, { itemIndex, description: 'Field: Object Key' });
	const poster = await makePoster(job, input.url, facts.durationSec);
	const existing = (item.json.rendition as IDataObject | undefined) ?? {};
	const json: IDataObject = { rendition: { ...existing, posterKey: poster.key }, poster: { key: poster.key, sizeBytes: poster.size, tools: toolVersions(tools) } };
	if (!(ctx.getNodeParameter('attachPoster', itemIndex, false) as boolean)) return { json };
	const data = await ctx.helpers.prepareBinaryData(await readFile(poster.file), 'poster.jpg', 'image/jpeg');
	return { json, binary: { ...(item.binary ?? {}), poster: data } };
}
