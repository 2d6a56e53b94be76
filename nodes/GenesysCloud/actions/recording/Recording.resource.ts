import type { INodeProperties } from 'n8n-workflow';

import * as getMetadata from './getMetadata.operation';
import * as stageScreenRecordings from './stageScreenRecordings.operation';

export { getMetadata, stageScreenRecordings };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['recording'] } },
		options: [
			{
				name: 'Stage Screen Recordings',
				value: 'stageScreenRecordings',
				description:
					'Copy every screen recording of a conversation into the object store and output one recording reference each',
				action: 'Stage screen recordings of a conversation',
			},
			{
				name: 'Get Recording Metadata',
				value: 'getMetadata',
				description: 'List the recordings of a conversation (no media)',
				action: 'Get recording metadata of a conversation',
			},
		],
		default: 'stageScreenRecordings',
	},
	...stageScreenRecordings.description,
	...getMetadata.description,
];
