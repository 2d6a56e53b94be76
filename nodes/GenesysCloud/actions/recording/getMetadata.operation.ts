import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { assertSafeId } from '../../../shared/ids';
import { genesysClient } from '../../transport';

export const description: INodeProperties[] = [
	{
		displayName: 'Conversation ID',
		name: 'conversationId',
		type: 'string',
		required: true,
		default: '={{ $json.conversationId }}',
		displayOptions: { show: { resource: ['recording'], operation: ['getMetadata'] } },
	},
];

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[][]> {
	const conversationId = assertSafeId('conversationId', this.getNodeParameter('conversationId', itemIndex));
	const client = await genesysClient.call(this, itemIndex);
	const { body } = await client.api<IDataObject[]>({
		method: 'GET',
		path: `/api/v2/conversations/${conversationId}/recordingmetadata`,
	});
	return [(Array.isArray(body) ? body : []).map((json) => ({ json, pairedItem: { item: itemIndex } }))];
}
