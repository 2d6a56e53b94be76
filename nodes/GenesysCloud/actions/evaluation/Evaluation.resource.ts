import type { INodeProperties } from 'n8n-workflow';

import * as get from './get.operation';
import * as query from './query.operation';

export { get, query };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['evaluation'] } },
		options: [
			{
				name: 'Get',
				value: 'get',
				description: 'Read one quality evaluation with its per-criterion scores',
				action: 'Get a quality evaluation',
			},
			{
				name: 'Query',
				value: 'query',
				description: 'Read every quality evaluation of a conversation or an agent, all pages',
				action: 'Query quality evaluations',
			},
		],
		default: 'query',
	},
	...get.description,
	...query.description,
	// Shared by both operations: how scores become failed criteria, and what each item carries.
	{
		displayName: 'Criterion Failure Threshold (%)',
		name: 'criterionThresholdPct',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 100 },
		default: 70,
		description:
			'A criterion (question group of the form) scoring below this share of its maximum counts as failed. Failed kill questions and critical questions below full marks fail it too.',
		displayOptions: { show: { resource: ['evaluation'], operation: ['get', 'query'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { resource: ['evaluation'], operation: ['get', 'query'] } },
		options: [
			{
				displayName: 'Include Raw Evaluation',
				name: 'includeRaw',
				type: 'boolean',
				default: false,
				description: 'Whether to add each evaluation exactly as Genesys Cloud returned it, under "raw"',
			},
		],
	},
];
