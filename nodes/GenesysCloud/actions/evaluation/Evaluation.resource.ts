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
];
