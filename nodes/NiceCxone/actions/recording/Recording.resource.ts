import type { INodeProperties } from 'n8n-workflow';

import * as pickUpFromS3 from './pickUpFromS3.operation';
import * as stageVoiceAndScreen from './stageVoiceAndScreen.operation';

export { pickUpFromS3, stageVoiceAndScreen };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['recording'] } },
		options: [
			{
				name: 'Pick Up From Customer S3',
				value: 'pickUpFromS3',
				description: 'Output the recordings CXone custom storage wrote into your own S3 bucket since the last run',
				action: 'Pick up recordings from the customer S3 bucket',
			},
			{
				name: 'Stage Voice-and-Screen Recording',
				value: 'stageVoiceAndScreen',
				description: 'Copy the voice-and-screen MP4 of a contact or segment into the object store (Media Playback API)',
				action: 'Stage a voice and screen recording',
			},
		],
		default: 'stageVoiceAndScreen',
	},
	...stageVoiceAndScreen.description,
	...pickUpFromS3.description,
];
