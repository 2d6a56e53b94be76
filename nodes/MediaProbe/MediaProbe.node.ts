import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { analyseContent, MediaProbeError, probeFacts, summariseProbe, truncationOf } from '../shared/media/probe';
import { credentialTest } from '../shared/n8n/credentialTests';
import { mediaError, mediaToolOptions, mediaToolsFor, readableObject, toolVersions } from '../shared/n8n/media';
import { objectStoreFor } from '../shared/n8n/resources';

export class MediaProbe implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Media Probe',
		name: 'mediaProbe',
		icon: { light: 'file:mediaProbe.svg', dark: 'file:mediaProbe.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ "content check: " + $parameter["contentCheck"] }}',
		description: 'Tell what a staged recording holds — streams, codecs, duration, black video, silent audio — without downloading it',
		defaults: { name: 'Media Probe' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#media-probe',
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [{ name: 'cxObjectStoreApi', required: true, testedBy: 'cxObjectStoreTest' }],
		properties: [
			{
				displayName: 'Object Key',
				name: 'objectKey',
				type: 'string',
				required: true,
				default: '={{ $json.object.key }}',
				description: 'The staged recording in the object store (a RecordingRef carries it in object.key)',
			},
			{
				displayName: 'Content Check',
				name: 'contentCheck',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Keyframes (Fast)',
						value: 'keyframes',
						description: 'Decode only keyframes: black ratio at keyframe granularity, audio level exact; about 5× faster',
					},
					{ name: 'Every Frame', value: 'full', description: 'Decode every frame: exact black ratio and truncation point' },
					{ name: 'Off', value: 'off', description: 'Only container and stream facts (ffprobe); no black/silence detection' },
				],
				default: 'keyframes',
			},
			{
				displayName: 'Black Video Threshold',
				name: 'blackRatio',
				type: 'number',
				typeOptions: { minValue: 0.01, maxValue: 1, numberPrecision: 2 },
				default: 0.9,
				description: 'Flag black_video when at least this share of the duration is black',
				displayOptions: { hide: { contentCheck: ['off'] } },
			},
			{
				displayName: 'Silence Threshold (dB)',
				name: 'silenceDb',
				type: 'number',
				typeOptions: { minValue: -120, maxValue: 0 },
				default: -50,
				description: 'Flag silent_audio when the audio never gets louder than this (dBFS)',
				displayOptions: { hide: { contentCheck: ['off'] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Black Pixel Threshold',
						name: 'pixelThreshold',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
						default: 0.1,
						description: 'Luminance (0–1) under which a pixel counts as black (ffmpeg blackdetect pix_th)',
					},
					...mediaToolOptions,
				],
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const returnData: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			let key = '';
			try {
				key = this.getNodeParameter('objectKey', i, '') as string;
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				const contentCheck = this.getNodeParameter('contentCheck', i) as 'keyframes' | 'full' | 'off';
				const tools = mediaToolsFor(this, options, i);
				const store = await objectStoreFor(this, i);
				const object = await readableObject(this, store, key, i, 'Object Key');
				const signal = this.getExecutionCancelSignal();
				const facts = await probeFacts(tools.ffprobe, object.url, { timeoutMs: tools.timeoutMs, signal });
				const content =
					contentCheck === 'off'
						? undefined
						: await analyseContent(tools.ffmpeg, object.url, facts, {
								mode: contentCheck,
								pixelThreshold: Number(options.pixelThreshold ?? 0.1),
								timeoutMs: tools.timeoutMs,
								signal,
							});
				const truncated = content ? truncationOf(facts, content) : undefined;
				if (truncated) {
					throw new NodeOperationError(this.getNode(), `Object ${key} is truncated or corrupt: ${truncated}`, { itemIndex: i, description: 'Field: Object Key' });
				}
				const probe = summariseProbe(
					facts,
					content,
					{ blackRatio: Number(this.getNodeParameter('blackRatio', i, 0.9)), silenceDb: Number(this.getNodeParameter('silenceDb', i, -50)) },
					object.size,
				);
				returnData.push({
					json: { ...items[i].json, probe: { ...probe, tools: toolVersions(tools) } as unknown as IDataObject },
					pairedItem: { item: i },
				});
			} catch (error) {
				const nodeError =
					error instanceof MediaProbeError
						? new NodeOperationError(this.getNode(), `Object ${key} is unusable: ${error.message}`, {
								itemIndex: i,
								description: 'Field: Object Key',
							})
						: mediaError(this, error, key, i);
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
