import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { stageBatch } from '../../../shared/ccaas/genesys/batch';
import { isSafeId } from '../../../shared/ids';
import { objectStoreFor, stateStoreFor } from '../../../shared/n8n/resources';
import { genesysClient } from '../../transport';

const show = { resource: ['recording'], operation: ['stageBatch'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Conversation ID',
		name: 'conversationId',
		type: 'string',
		required: true,
		default: '={{ $json.conversationId }}',
		description: 'Read from every input item; all items go to Genesys Cloud as batch download jobs of up to 100',
		displayOptions: { show },
	},
	{
		displayName: 'Agent User ID',
		name: 'agentId',
		type: 'string',
		default: '={{ $json.userId }}',
		description: 'Batch results do not name the agent, so it comes from the item',
		displayOptions: { show },
	},
	{
		displayName: 'Max Batch Wait (Seconds)',
		name: 'maxBatchWaitSec',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 1800 },
		default: 300,
		description: 'How long to poll a batch job; conversations without results by then go to Not Staged for a later run',
		displayOptions: { show },
	},
	{
		displayName: 'Poll Interval (Seconds)',
		name: 'pollIntervalSec',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 60 },
		default: 5,
		displayOptions: { show },
	},
];

/** All input items at once (one batch job per 100 conversations); outputs: Staged, Not Staged. */
export async function executeAll(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const conversations = items.map((_item, i) => {
		const conversationId = this.getNodeParameter('conversationId', i) as string;
		if (!isSafeId(conversationId)) {
			throw new NodeOperationError(this.getNode(), `Conversation ID must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'`, {
				itemIndex: i,
				description: 'Field: conversationId',
			});
		}
		return { conversationId, agentId: (this.getNodeParameter('agentId', i, '') as string) || undefined };
	});
	const itemOf = new Map(conversations.map((conversation, i) => [conversation.conversationId, i]));
	const result = await stageBatch(
		{ client: await genesysClient.call(this, 0), store: await objectStoreFor(this, 0), state: await stateStoreFor(this) },
		conversations,
		{
			maxTranscodeWaitMs: 0,
			serverMaxWaitMs: 0,
			maxBatchWaitMs: Number(this.getNodeParameter('maxBatchWaitSec', 0, 300)) * 1000,
			pollIntervalMs: Number(this.getNodeParameter('pollIntervalSec', 0, 5)) * 1000,
			signal: this.getExecutionCancelSignal(),
		},
	);
	return [
		result.refs.map((ref) => ({ json: ref as unknown as IDataObject, pairedItem: { item: itemOf.get(ref.conversationId) ?? 0 } })),
		result.skipped.map((skipped) => ({
			json: { ...skipped, status: skipped.outcome } as unknown as IDataObject,
			pairedItem: { item: itemOf.get(skipped.conversationId) ?? 0 },
		})),
	];
}
