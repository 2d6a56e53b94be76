import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { DEFAULT_COMPLETED_STATES, QM_WORKFLOWS_ENTITY } from '../../../shared/ccaas/nice/evaluations';
import { extractEvaluations } from '../../../shared/ccaas/nice/poll';
import { niceClient } from '../../transport';

const show = { resource: ['evaluation'], operation: ['getEvaluations'] };

export const evaluationOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Completed States',
			name: 'completedStates',
			type: 'string',
			default: DEFAULT_COMPLETED_STATES.join(','),
			description: 'Comma-separated workflowState or workflowStatus values that mark a finished evaluation (NICE does not document the list)',
		},
		{
			displayName: 'Criterion Failure Threshold (%)',
			name: 'criterionThresholdPct',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 100 },
			default: 70,
			description: 'A form section scoring below this percentage is a failed criterion',
		},
		{
			displayName: 'Job Wait (Seconds)',
			name: 'maxWaitSec',
			type: 'number',
			typeOptions: { minValue: 30, maxValue: 3600 },
			default: 300,
			description: 'How long to wait for an extraction job; status checks are at least 30 seconds apart',
		},
		{
			displayName: 'Q&A Entity Name',
			name: 'questionsEntityName',
			type: 'string',
			default: '',
			placeholder: 'qm-questions-answers',
			description:
				'Data Extraction entity with one row per answered question, for criteria. Its name is not confirmed in NICE’s public material: ask NICE for it. Empty skips criteria (one job and 30 s fewer).',
		},
		{
			displayName: 'Q&A Entity Version',
			name: 'questionsEntityVersion',
			type: 'string',
			default: '1',
		},
		{
			displayName: 'QM Workflows Entity Version',
			name: 'workflowsEntityVersion',
			type: 'string',
			default: '4',
			description: 'Version of the qm-workflows entity (the help page names 4; 1 and 3 are seen too)',
		},
	],
};

export const description: INodeProperties[] = [
	{
		displayName: 'Start Date',
		name: 'startDate',
		type: 'dateTime',
		required: true,
		default: '',
		description: 'First day of the extraction (UTC)',
		displayOptions: { show },
	},
	{
		displayName: 'End Date',
		name: 'endDate',
		type: 'dateTime',
		required: true,
		default: '',
		description: 'Last day of the extraction (UTC)',
		displayOptions: { show },
	},
	{
		displayName: 'Only Completed',
		name: 'onlyCompleted',
		type: 'boolean',
		default: true,
		description: 'Whether to output only completed evaluations. Turn off to also get in-progress and withdrawn ones; each item says why in "training".',
		displayOptions: { show },
	},
	{ ...evaluationOptions, displayOptions: { show } },
];

/** Runs one qm-workflows extraction for the date range (plus the Q&A one when named) and outputs one item per evaluation. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[][]> {
	const startDate = day.call(this, 'startDate', itemIndex);
	const endDate = day.call(this, 'endDate', itemIndex);
	if (endDate < startDate) throw new NodeOperationError(this.getNode(), 'End Date is before Start Date', { itemIndex, description: 'Field: endDate' });
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const outcome = await extractEvaluations(
		await niceClient.call(this, itemIndex),
		{ startDate, endDate },
		{ ...extractionSettings(options), onlyCompleted: this.getNodeParameter('onlyCompleted', itemIndex, true) !== false, signal: this.getExecutionCancelSignal() },
	);
	if (outcome.state === 'running') {
		throw new NodeOperationError(this.getNode(), `NICE CXone extraction job ${outcome.jobId} is still running after the Job Wait; try again later or raise Job Wait`, { itemIndex });
	}
	return [outcome.evaluations.map((evaluation) => ({ json: evaluation as unknown as IDataObject, pairedItem: { item: itemIndex } }))];
}

/** Node options → extraction settings, shared with the NICE Evaluation Trigger. */
export function extractionSettings(options: IDataObject) {
	const questionsEntityName = String(options.questionsEntityName ?? '').trim();
	return {
		maxWaitMs: Number(options.maxWaitSec ?? 300) * 1000,
		completedStates: String(options.completedStates ?? DEFAULT_COMPLETED_STATES.join(','))
			.split(',')
			.map((state) => state.trim())
			.filter(Boolean),
		criterionThresholdPct: Number(options.criterionThresholdPct ?? 70),
		workflowsEntity: { entityName: QM_WORKFLOWS_ENTITY.entityName, version: String(options.workflowsEntityVersion || QM_WORKFLOWS_ENTITY.version) },
		questionsEntity: questionsEntityName ? { entityName: questionsEntityName, version: String(options.questionsEntityVersion || '1') } : undefined,
	};
}

function day(this: IExecuteFunctions, name: string, itemIndex: number): string {
	const value = String(this.getNodeParameter(name, itemIndex, '') ?? '');
	const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00.000Z`) : Date.parse(value);
	if (!value || Number.isNaN(ms)) {
		throw new NodeOperationError(this.getNode(), `${name} is not a date: ${JSON.stringify(value.slice(0, 40))}`, { itemIndex, description: `Field: ${name}` });
	}
	return new Date(ms).toISOString().slice(0, 10);
}
