import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { evaluationFormFor, getEvaluation, summariseEvaluation } from '../../../shared/ccaas/genesys/evaluations';
import { assertSafeId } from '../../../shared/ids';
import { genesysClient } from '../../transport';

const show = { resource: ['evaluation'], operation: ['get'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Conversation ID',
		name: 'conversationId',
		type: 'string',
		required: true,
		default: '={{ $json.conversationId }}',
		description: 'The conversation the evaluation belongs to',
		displayOptions: { show },
	},
	{
		displayName: 'Evaluation ID',
		name: 'evaluationId',
		type: 'string',
		required: true,
		default: '={{ $json.evaluationId }}',
		description: 'The quality evaluation to read',
		displayOptions: { show },
	},

];

/** Items per output: this operation has one. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[][]> {
	const conversationId = assertSafeId('conversationId', this.getNodeParameter('conversationId', itemIndex));
	const evaluationId = assertSafeId('evaluationId', this.getNodeParameter('evaluationId', itemIndex));
	const criterionThresholdPct = this.getNodeParameter('criterionThresholdPct', itemIndex, 70) as number;
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const signal = this.getExecutionCancelSignal();
	const client = await genesysClient.call(this, itemIndex);
	const evaluation = await getEvaluation(client, conversationId, evaluationId, signal);
	const form = await evaluationFormFor(client, evaluation);
	const summary = summariseEvaluation(evaluation, form, { criterionThresholdPct });
	return [
		[
			{
				json: {
					...summary,
					conversationId: summary.conversationId ?? conversationId,
					...(options.includeRaw ? { raw: evaluation } : {}),
				} as unknown as IDataObject,
				pairedItem: { item: itemIndex },
			},
		],
	];
}
