import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { MediaToolError, redactUrls, resolveTool, type ToolInfo } from '../media/tools';
import type { ObjectStoreApi } from '../store/types';
import { HttpError, TransportError } from '../transport/errors';
import { toNodeError } from './errors';

/** Options every media node offers: which binaries run, and how long they may take. */
export const mediaToolOptions: INodeProperties[] = [
	{
		displayName: 'Ffmpeg Path',
		name: 'ffmpegPath',
		type: 'string',
		default: '',
		placeholder: '/usr/bin/ffmpeg',
		description:
			'The ffmpeg binary to run. Empty: CX_FFMPEG_PATH, else ffmpeg on the PATH, else the build shipped by npm (an old static build: prefer a current ffmpeg from your OS for untrusted media).',
	},
	{
		displayName: 'Ffprobe Path',
		name: 'ffprobePath',
		type: 'string',
		default: '',
		placeholder: '/usr/bin/ffprobe',
		description: 'The ffprobe binary to run. Empty: CX_FFPROBE_PATH, else ffprobe on the PATH, else the build shipped by npm.',
	},
	{
		displayName: 'Timeout (Minutes)',
		name: 'timeoutMinutes',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 720 },
		default: 60,
		description: 'The ffmpeg process is stopped after this long and the item fails with that reason',
	},
];

export interface MediaTools {
	ffmpeg: ToolInfo;
	ffprobe: ToolInfo;
	timeoutMs: number;
}

export function mediaToolsFor(ctx: IExecuteFunctions, options: IDataObject, itemIndex: number): MediaTools {
	try {
		return {
			ffmpeg: resolveTool('ffmpeg', options.ffmpegPath as string | undefined),
			ffprobe: resolveTool('ffprobe', options.ffprobePath as string | undefined),
			timeoutMs: Number(options.timeoutMinutes ?? 60) * 60_000,
		};
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, {
			itemIndex,
			description: 'Field: Options → Ffmpeg Path / Ffprobe Path',
		});
	}
}

/** Versions shown in the node's output, so an operator sees which (and how old an) ffmpeg decoded the media. */
export function toolVersions(tools: MediaTools): IDataObject {
	return {
		ffmpeg: { version: tools.ffmpeg.version, origin: tools.ffmpeg.origin },
		ffprobe: { version: tools.ffprobe.version, origin: tools.ffprobe.origin },
	};
}

/** The object key to read, from a parameter; refuses an empty or missing object before ffmpeg runs. */
export async function readableObject(
	ctx: IExecuteFunctions,
	store: ObjectStoreApi,
	key: string,
	itemIndex: number,
	field: string,
): Promise<{ key: string; size: number; url: string }> {
	if (typeof key !== 'string' || !key.trim()) {
		throw new NodeOperationError(ctx.getNode(), `${field} is empty: no object to read`, { itemIndex, description: `Field: ${field}` });
	}
	const head = await store.head(key);
	if (!head) {
		throw new NodeOperationError(ctx.getNode(), `Object ${key} does not exist in bucket ${store.bucket}`, { itemIndex, description: `Field: ${field}` });
	}
	if (head.size === 0) {
		throw new NodeOperationError(ctx.getNode(), `Object ${key} is empty (0 bytes): nothing to analyse`, { itemIndex, description: `Field: ${field}` });
	}
	// ffmpeg reads the object by HTTP range requests: never through n8n's memory.
	return { key, size: head.size, url: await store.presignGet(key, 6 * 3600) };
}

/** A media failure as a node error naming the object, with ffmpeg's reason and no signed URL. */
export function mediaError(ctx: IExecuteFunctions, error: unknown, key: string, itemIndex: number): NodeOperationError | NodeApiError {
	if (error instanceof NodeOperationError || error instanceof NodeApiError || error instanceof HttpError || error instanceof TransportError) {
		// n8n and transport errors keep the package-wide mapping (remote failures → NodeApiError).
		return toNodeError(ctx.getNode(), error, itemIndex);
	}
	const message = redactUrls((error as Error).message ?? String(error));
	const description = error instanceof MediaToolError && error.stderrTail ? redactUrls(error.stderrTail).slice(-1500) : undefined;
	return new NodeOperationError(ctx.getNode(), `Object ${key}: ${message}`, { itemIndex, description });
}

/** H.264 speed and quality, the same for the Training Rendition and the redacted rendition (keep this order: Preset, Quality). */
export const h264QualityOptions: INodeProperties[] = [
	{
		displayName: 'Preset',
		name: 'preset',
		type: 'options',
		options: [
			{ name: 'Fast', value: 'fast' },
			{ name: 'Faster', value: 'faster' },
			{ name: 'Medium (Smallest Files, Slowest)', value: 'medium' },
			{ name: 'Superfast', value: 'superfast' },
			{ name: 'Ultrafast (About 0.2× Realtime, 3.5× Larger Files)', value: 'ultrafast' },
			{ name: 'Veryfast (About 0.35× Realtime at 1080p on 2 Cores)', value: 'veryfast' },
		],
		default: 'veryfast',
		description: 'H.264 encoder speed against file size',
	},
	{ displayName: 'Quality (CRF)', name: 'crf', type: 'number', typeOptions: { minValue: 15, maxValue: 40 }, default: 23, description: 'Lower is better quality and larger files' },
];
