import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	evaluationFormFor,
	queryEvaluations,
	summariseEvaluation,
	type EvaluationQuery,
} from '../../../shared/ccaas/genesys/evaluations';
import { assertSafeId } from '../../../shared/ids';
import { genesysClient } from '../../transport';

const show = { resource: ['evaluation'], operation: ['query'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Query By',
		name: 'queryBy',
		type: 'options',
		options: [
			{ name: 'Conversation', value: 'conversation', description: 'Every evaluation of one conversation' },
			{ name: 'Agent', value: 'agent', description: 'Every evaluation of one agent (Genesys leaves out "Never Release" ones)' },
		],
		default: 'conversation',
		displayOptions: { show },
	},
	{
		displayName: 'Conversation ID',
		name: 'conversationId',
		type: 'string',
		required: true,
		default: '={{ $json.conversationId }}',
		description: 'The conversation whose evaluations to read',
		displayOptions: { show: { ...show, queryBy: ['conversation'] } },
	},
	{
		displayName: 'Agent User ID',
		name: 'agentUserId',
		type: 'string',
		required: true,
		default: '={{ $json.userId }}',
		description: 'The Genesys Cloud user ID of the evaluated agent',
		displayOptions: { show: { ...show, queryBy: ['agent'] } },
	},
	{
		displayName: 'Start Time',
		name: 'startTime',
		type: 'dateTime',
		default: '',
		description: 'Only evaluations from this time on (leave empty for no lower bound)',
		displayOptions: { show },
	},
	{
		displayName: 'End Time',
		name: 'endTime',
		type: 'dateTime',
		default: '',
		description: 'Only evaluations before this time (leave empty for no upper bound)',
		displayOptions: { show },
	},
	{
		displayName: 'Only Released and Finished',
		name: 'onlyReleasedFinished',
		type: 'boolean',
		default: true,
		description:
			'Whether to output only finished evaluations the agent can see. Turn off to also get retracted, unreleased and in-progress ones (for example to withdraw training); each item says why in "training".',
		displayOptions: { show },
	},

];

/** Items per output: this operation has one. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[][]> {
	const queryBy = this.getNodeParameter('queryBy', itemIndex, 'conversation') as string;
	const query: EvaluationQuery =
		queryBy === 'agent'
			? { agentUserId: assertSafeId('agentUserId', this.getNodeParameter('agentUserId', itemIndex)) }
			: { conversationId: assertSafeId('conversationId', this.getNodeParameter('conversationId', itemIndex)) };
	query.startTime = isoTime.call(this, 'startTime', itemIndex);
	query.endTime = isoTime.call(this, 'endTime', itemIndex);
	const onlyReleasedFinished = this.getNodeParameter('onlyReleasedFinished', itemIndex, true) as boolean;
	// Asking Genesys for FINISHED only saves pages; release (releaseDate and not neverRelease) is checked below.
	if (onlyReleasedFinished) query.evaluationState = ['FINISHED'];
	const criterionThresholdPct = this.getNodeParameter('criterionThresholdPct', itemIndex, 70) as number;
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const signal = this.getExecutionCancelSignal();

	const client = await genesysClient.call(this, itemIndex);
	const evaluations = await queryEvaluations(client, query, { signal });
	const output: INodeExecutionData[] = [];
	for (const evaluation of evaluations) {
		const form = await evaluationFormFor(client, evaluation);
		const summary = summariseEvaluation(evaluation, form, { criterionThresholdPct });
		if (onlyReleasedFinished && !summary.training.drivesTraining) continue;
		output.push({
			json: { ...summary, ...(options.includeRaw ? { raw: evaluation } : {}) } as unknown as IDataObject,
			pairedItem: { item: itemIndex },
		});
	}
	return [output];
}

function isoTime(this: IExecuteFunctions, name: string, itemIndex: number): string | undefined {
	const value = this.getNodeParameter(name, itemIndex, '') as unknown;
	if (value === '' || value === undefined || value === null) return undefined;
	const ms = Date.parse(String(value));
	if (Number.isNaN(ms)) {
		throw new NodeOperationError(this.getNode(), `${name} is not a date: ${JSON.stringify(String(value).slice(0, 40))}`, {
			itemIndex,
			description: `Field: ${name}`,
		});
	}
	return new Date(ms).toISOString();
}
