import type { INodeProperties } from 'n8n-workflow';

import * as getMetadata from './getMetadata.operation';
import * as stageBatch from './stageBatch.operation';
import * as stageScreenRecordings from './stageScreenRecordings.operation';

export { getMetadata, stageBatch, stageScreenRecordings };

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
				name: 'Stage Screen Recordings in Batch',
				value: 'stageBatch',
				description:
					'Stage the screen recordings of all input conversations through Genesys batch download jobs (up to 100 per job)',
				action: 'Stage screen recordings of many conversations in batch',
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
	...stageBatch.description,
	...getMetadata.description,
];
