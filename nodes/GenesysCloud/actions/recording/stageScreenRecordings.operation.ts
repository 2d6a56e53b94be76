import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { isSensitiveConversation, stageConversationScreenRecordings } from '../../../shared/ccaas/genesys/staging';
import { isSafeId } from '../../../shared/ids';
import { objectStoreFor, stateStoreFor } from '../../../shared/n8n/resources';
import { genesysClient } from '../../transport';

const show = { resource: ['recording'], operation: ['stageScreenRecordings'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Conversation ID',
		name: 'conversationId',
		type: 'string',
		required: true,
		default: '={{ $json.conversationId }}',
		description: 'The conversation whose screen recordings to stage (the Genesys Recording Trigger outputs it)',
		displayOptions: { show },
	},
	{
		displayName: 'Agent User ID',
		name: 'agentId',
		type: 'string',
		default: '={{ $json.userId }}',
		description: 'Used when a recording does not name its agent itself',
		displayOptions: { show },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show },
		options: [
			{
				displayName: 'Max Transcode Wait (Seconds)',
				name: 'maxTranscodeWaitSec',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 900 },
				default: 120,
				description: 'How long to keep asking while Genesys answers "202 transcoding" before this item fails for a later retry',
			},
			{
				displayName: 'Restore Archived For (Days)',
				name: 'restoreDays',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 90 },
				default: 7,
				description: 'Archived recordings are restored for this long; the item goes to the Not Staged output until the restore finishes',
			},
			{
				displayName: 'Sensitive Queue IDs',
				name: 'sensitiveQueueIds',
				type: 'string',
				default: '',
				description: 'Comma-separated queues whose recordings hold sensitive data (e.g. payments): they carry platformFlags.sensitiveData, so PII Scan and LMS Push keep them private',
			},
			{
				displayName: 'Sensitive Wrap-Up Codes',
				name: 'sensitiveWrapupCodes',
				type: 'string',
				default: '',
				description: 'Comma-separated wrap-up codes that mark a conversation as holding sensitive data',
			},
			{
				displayName: 'Server Wait per Request (Ms)',
				name: 'serverMaxWaitMs',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 60000 },
				default: 5000,
				description: 'The maxWaitMs Genesys may hold each recordings request while media transcodes',
			},
			{
				displayName: 'Upload Part Size (MiB)',
				name: 'partSizeMiB',
				type: 'number',
				typeOptions: { minValue: 5, maxValue: 512 },
				default: 8,
				description: 'Multipart part size; memory per upload is about two parts, whatever the recording size',
			},
		],
	},
];

/** Output 0: staged recordings; output 1: recordings (or conversations) to retry later, or final failures. */
export async function execute(this: IExecuteFunctions, itemIndex: number, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const conversationId = this.getNodeParameter('conversationId', itemIndex) as string;
	if (!isSafeId(conversationId)) {
		throw new NodeOperationError(
			this.getNode(),
			`Conversation ID must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'; got ${JSON.stringify(String(conversationId).slice(0, 60))}`,
			{ itemIndex, description: 'Field: conversationId' },
		);
	}
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const input = items[itemIndex].json;
	const agentId = (this.getNodeParameter('agentId', itemIndex, '') as string) || undefined;
	const result = await stageConversationScreenRecordings(
		{
			client: await genesysClient.call(this, itemIndex),
			store: await objectStoreFor(this, itemIndex),
			state: await stateStoreFor(this),
		},
		{
			conversationId,
			agentId,
			queueId: typeof input.queueId === 'string' ? input.queueId : undefined,
			mediaType: typeof input.mediaType === 'string' ? input.mediaType : undefined,
			direction: typeof input.direction === 'string' ? input.direction : undefined,
			wrapupCode: typeof input.wrapupCode === 'string' ? input.wrapupCode : undefined,
			eventTime: typeof input.eventTime === 'string' ? input.eventTime : undefined,
			sensitive: isSensitiveConversation(
				{ queueId: typeof input.queueId === 'string' ? input.queueId : undefined, wrapupCode: typeof input.wrapupCode === 'string' ? input.wrapupCode : undefined },
				{ queueIds: list(options.sensitiveQueueIds), wrapupCodes: list(options.sensitiveWrapupCodes) },
			),
		},
		{
			maxTranscodeWaitMs: Number(options.maxTranscodeWaitSec ?? 120) * 1000,
			serverMaxWaitMs: Number(options.serverMaxWaitMs ?? 5000),
			partSizeBytes: Number(options.partSizeMiB ?? 8) * 1024 * 1024,
			restoreDays: Number(options.restoreDays ?? 7),
			signal: this.getExecutionCancelSignal(),
		},
	);
	// A Not Staged item fed back into this node (a retry loop) must stage with the same agent, queue and
	// sensitivity as the first pass: it carries the conversation's context as the trigger gave it.
	const context = retryContext(input, agentId);
	if (result.state === 'transcoding') {
		return [
			[],
			[
				{
					json: {
						...context,
						conversationId,
						status: 'transcoding',
						reason: `recordings still transcoding after ${Math.round(result.waitedMs / 1000)} s (${result.polls} requests)`,
						retryAfterSec: result.retryAfterSec,
					},
					pairedItem: { item: itemIndex },
				},
			],
		];
	}
	if (result.refs.length === 0 && result.skipped.length === 0) {
		// Normal for a conversation with audio but no screen recording: no item, no error.
		const message = `Conversation ${conversationId} has no screen recording; nothing to stage`;
		this.logger.info(message, { conversationId });
		this.addExecutionHints({ message, location: 'outputPane' });
	}
	return [
		result.refs.map((ref) => ({
			json: { ...ref, staging: { reused: result.reused.includes(ref.recordingId), resumes: result.resumes } } as unknown as IDataObject,
			pairedItem: { item: itemIndex },
		})),
		result.skipped.map((skipped) => ({
			json: { ...context, conversationId, ...skipped, status: skipped.outcome } as unknown as IDataObject,
			pairedItem: { item: itemIndex },
		})),
	];
}

/** The trigger's fields this operation reads (userId as the agent it resolved), where they are set. */
function retryContext(input: IDataObject, agentId: string | undefined): IDataObject {
	const context: IDataObject = {};
	if (agentId) context.userId = agentId;
	for (const field of ['queueId', 'mediaType', 'direction', 'wrapupCode', 'eventTime']) {
		if (typeof input[field] === 'string') context[field] = input[field];
	}
	return context;
}

function list(value: unknown): string[] {
	return typeof value === 'string' ? value.split(',').map((entry) => entry.trim()).filter(Boolean) : [];
}
