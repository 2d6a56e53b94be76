import type { INodeProperties } from 'n8n-workflow';

import * as getEvaluations from './getEvaluations.operation';

export { getEvaluations };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['evaluation'] } },
		options: [
			{
				name: 'Get Evaluations',
				value: 'getEvaluations',
				description: 'Run a Data Extraction job for a date range and output the latest state of each QM evaluation',
				action: 'Get evaluations for a date range',
			},
		],
		default: 'getEvaluations',
	},
	...getEvaluations.description,
];
