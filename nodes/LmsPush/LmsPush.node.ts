import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { recordingRefProblems } from '../shared/lms/refValidation';
import type { PlaceholderAsset } from '../shared/lms/types';
import { XapiClient, XapiLmsAdapter } from '../shared/lms/xapi';
import { credentialTest } from '../shared/n8n/credentialTests';
import { toNodeError } from '../shared/n8n/errors';
import { objectStoreFor, stateStoreFor } from '../shared/n8n/resources';
import type { RecordingRef } from '../shared/recordingRef';
import type { StateStore } from '../shared/state/types';

export class LmsPush implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'LMS Push',
		name: 'lmsPush',
		icon: { light: 'file:lmsPush.svg', dark: 'file:lmsPush.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["target"] + ": " + $parameter["operation"]}}',
		description: 'Create or update the learning asset of a staged recording in your LMS or LRS, idempotently',
		defaults: { name: 'LMS Push' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#lms-push',
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [
			{ name: 'xapiLrsApi', required: true, displayOptions: { show: { target: ['xapi'] } } },
			{ name: 'cxObjectStoreApi', required: false, testedBy: 'cxObjectStoreTest' },
			{ name: 'cxStateStoreApi', required: false, testedBy: 'cxStateStoreTest' },
		],
		properties: [
			{
				displayName: 'Target',
				name: 'target',
				type: 'options',
				noDataExpression: true,
				options: [{ name: 'xAPI LRS', value: 'xapi', description: 'Any Learning Record Store speaking xAPI 1.0.3 or 2.0' }],
				default: 'xapi',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Create Private Placeholder (Stage 1)',
						value: 'pushPlaceholder',
						description: 'Register the recording as a private asset pending review; a retry changes nothing',
						action: 'Create a private placeholder asset',
					},
				],
				default: 'pushPlaceholder',
			},
			{
				displayName: 'Title',
				name: 'title',
				type: 'string',
				default: '={{ "Contact " + $json.conversationId + " (screen recording)" }}',
				description: 'Name of the learning asset',
			},
			{
				displayName: 'Description',
				name: 'assetDescription',
				type: 'string',
				typeOptions: { rows: 2 },
				default: '={{ "Screen recording of agent " + $json.agent.id + ($json.queue ? " in queue " + $json.queue.id : "") + ", " + $json.startTime }}',
			},
			{
				displayName: 'Agent Account Home Page',
				name: 'actorHomePage',
				type: 'string',
				default: 'https://apps.mypurecloud.com',
				description: 'The xAPI statement identifies each agent as an account on this platform URL with their platform user ID (no personal data)',
			},
			{
				displayName: 'Identify Agent by E-Mail',
				name: 'actorByEmail',
				type: 'boolean',
				default: false,
				description: 'Whether to identify the agent by e-mail address (mbox) instead of the platform account. Sends personal data to the LRS.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Activity IRI Base',
						name: 'iriBase',
						type: 'string',
						default: 'https://xapi.cx-training.dev',
						description: 'Base of the activity, extension and profile IRIs; use a domain your organisation controls',
					},
					{
						displayName: 'Language',
						name: 'language',
						type: 'string',
						default: 'en-US',
						description: 'Language tag of the title and description',
					},
					{
						displayName: 'Player URL',
						name: 'moreInfoUrl',
						type: 'string',
						default: '',
						description: 'A stable page where learners watch the asset (the activity’s moreInfo). Empty means the activity ID. Signed media links change, so they go into the asset state document instead.',
					},
					{
						displayName: 'Media Link Lifetime (Hours)',
						name: 'mediaLinkHours',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 168 },
						default: 168,
						description: 'Validity of the signed link to the staged media written to the asset state (S3 allows at most 7 days)',
					},
				],
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const returnData: INodeExecutionData[] = [];
		let state: StateStore | undefined;
		for (let i = 0; i < items.length; i++) {
			try {
				const problems = recordingRefProblems(items[i].json);
				if (problems.length) {
					throw new NodeOperationError(this.getNode(), `The input item is not a recording reference: ${problems.join('; ')}`, {
						itemIndex: i,
						description: 'Connect LMS Push after a node that outputs recording references (e.g. Genesys Cloud → Stage Screen Recordings).',
					});
				}
				const ref = items[i].json as unknown as RecordingRef;
				state ??= await stateStoreFor(this);
				const result = await pushPlaceholder.call(this, i, ref, state);
				returnData.push({ json: result as unknown as IDataObject, pairedItem: { item: i } });
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i);
				if (!(error instanceof NodeOperationError) && state) {
					// Remote failures that survived the transport's retries are kept for a replay.
					await state.addDeadLetter({
						stateKey: (items[i].json.stateKey as string) ?? undefined,
						node: this.getNode().name,
						error: nodeError.message,
						payload: items[i].json,
					});
				}
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

async function pushPlaceholder(this: IExecuteFunctions, i: number, ref: RecordingRef, state: StateStore): Promise<RecordingRef> {
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	const credentials = await this.getCredentials('xapiLrsApi', i);
	const adapter = new XapiLmsAdapter(
		new XapiClient({
			endpoint: String(credentials.endpoint ?? ''),
			key: String(credentials.key ?? ''),
			secret: String(credentials.secret ?? ''),
			version: credentials.version === '2.0.0' ? '2.0.0' : '1.0.3',
		}),
		{
			iriBase: String(options.iriBase || 'https://xapi.cx-training.dev').replace(/\/+$/, ''),
			actorHomePage: this.getNodeParameter('actorHomePage', i) as string,
			actorByEmail: this.getNodeParameter('actorByEmail', i) as boolean,
			language: String(options.language || 'en-US'),
		},
	);
	const asset: PlaceholderAsset = {
		ref,
		title: this.getNodeParameter('title', i) as string,
		description: this.getNodeParameter('assetDescription', i) as string,
		tags: ref.taxonomy?.tags ?? [],
		moreInfoUrl: (options.moreInfoUrl as string) || undefined,
	};
	if (ref.object && this.getNode().credentials?.cxObjectStoreApi) {
		const lifetimeSec = Number(options.mediaLinkHours ?? 168) * 3600;
		const store = await objectStoreFor(this, i);
		const key = ref.rendition?.key ?? ref.object.key;
		asset.mediaLink = {
			url: await store.presignGet(key, lifetimeSec),
			expiresAt: new Date(Date.now() + lifetimeSec * 1000).toISOString(),
			object: ref.object,
		};
	}
	const result = await adapter.pushPlaceholder(asset);
	await recordPush(state, ref, result.assetId);
	return {
		...ref,
		lms: { target: result.target, assetId: result.assetId, statementIds: result.statementIds, stage: result.stage },
		lmsPush: { created: result.created, ...result.details },
	} as RecordingRef;
}

async function recordPush(state: StateStore, ref: RecordingRef, assetId: string): Promise<void> {
	const row = await state.upsertRecording({
		stateKey: ref.stateKey,
		source: ref.source,
		conversationId: ref.conversationId,
		recordingId: ref.recordingId,
		stage: 'pushed_placeholder',
		ref,
	});
	if (row.stage === 'pushed_final' || row.stage === 'quarantined') return;
	for (let attempt = 0; attempt < 5; attempt++) {
		const current = attempt === 0 ? row : await state.getRecording(ref.stateKey);
		if (!current) return;
		if (await state.updateRecording(ref.stateKey, current.version, { stage: 'pushed_placeholder', lmsAssetId: assetId })) return;
	}
}
