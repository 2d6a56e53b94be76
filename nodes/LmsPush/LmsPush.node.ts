import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { credentialTest } from '../shared/n8n/credentialTests';
import { lmsTargetProperty, xapiActorProperties } from '../shared/n8n/lmsTargets';
import { router } from './actions/router';

export class LmsPush implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'LMS Push',
		name: 'lmsPush',
		icon: { light: 'file:lmsPush.svg', dark: 'file:lmsPush.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["target"] + ": " + $parameter["operation"]}}',
		description: 'Create, complete or withdraw the learning asset of a recording in your LMS or LRS, idempotently',
		defaults: { name: 'LMS Push' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#lms-push',
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [
			{ name: 'xapiLrsApi', required: true, displayOptions: { show: { target: ['xapi'] } } },
			{ name: 'genesysCloudApi', required: true, displayOptions: { show: { target: ['genesysLearning'] } } },
			{ name: 'restLmsApi', required: true, displayOptions: { show: { target: ['rest'] } } },
			{ name: 'cxObjectStoreApi', required: false, testedBy: 'cxObjectStoreTest' },
			{ name: 'cxStateStoreApi', required: false, testedBy: 'cxStateStoreTest' },
		],
		properties: [
			lmsTargetProperty,
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Create Private Placeholder (Stage 1)',
						value: 'pushPlaceholder',
						description: 'Register a staged recording as a private asset pending review; finishes it at once if its evaluation arrived first',
						action: 'Create a private placeholder asset',
					},
					{
						name: 'Replay Dead Letters',
						value: 'replayDeadLetters',
						description: 'Re-send pushes that failed after all retries; each push is idempotent, so nothing is created twice',
						action: 'Replay failed pushes',
					},
					{
						name: 'Update With Evaluation (Stage 2)',
						value: 'pushFinal',
						description: 'Add score, tags, category, visibility and asset type to the assets of an evaluated contact; retractions withdraw them',
						action: 'Update assets with an evaluation',
					},
				],
				default: 'pushPlaceholder',
			},
			{
				displayName: 'Title',
				name: 'title',
				type: 'string',
				default: '={{ "Contact " + $json.conversationId + " (screen recording)" }}',
				description: 'Name of the learning asset',
				displayOptions: { show: { operation: ['pushPlaceholder'] } },
			},
			{
				displayName: 'Description',
				name: 'assetDescription',
				type: 'string',
				typeOptions: { rows: 2 },
				default: '={{ "Screen recording of agent " + $json.agent.id + ($json.queue ? " in queue " + $json.queue.id : "") + ", " + $json.startTime }}',
				displayOptions: { show: { operation: ['pushPlaceholder'] } },
			},
			...xapiActorProperties,
			{
				displayName: 'Dead Letters of Node',
				name: 'deadLetterNode',
				type: 'string',
				default: '',
				placeholder: 'e.g. LMS Push',
				description: 'Replay only dead letters written by the node of this name; empty replays those of every LMS Push node',
				displayOptions: { show: { operation: ['replayDeadLetters'] } },
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description: 'Max number of results to return',
				displayOptions: { show: { operation: ['replayDeadLetters'] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				displayOptions: { show: { operation: ['pushPlaceholder', 'pushFinal', 'replayDeadLetters'] } },
				options: [
					{
						displayName: 'Activity IRI Base',
						name: 'iriBase',
						type: 'string',
						default: 'https://xapi.cx-training.dev',
						description: 'Base of the activity, extension and profile IRIs (xAPI target); use a domain your organisation controls',
					},
					{
						displayName: 'Include Unreleased Evaluations',
						name: 'includeUnreleased',
						type: 'boolean',
						default: false,
						description: 'Whether scores the agent cannot see yet may be written to the asset',
					},
					{
						displayName: 'Language',
						name: 'language',
						type: 'string',
						default: 'en-US',
						description: 'Language tag of the title and description',
					},
					{
						displayName: 'Media Link Lifetime (Hours)',
						name: 'mediaLinkHours',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 168 },
						default: 168,
						description: 'Validity of the signed link to the staged media written to the asset state (S3 allows at most 7 days)',
					},
					{
						displayName: 'Player URL',
						name: 'moreInfoUrl',
						type: 'string',
						default: '',
						description: 'A stable page where learners watch the asset (the activity’s moreInfo). Empty means the activity ID. Signed media links change, so they go into the asset state document instead.',
					},
				],
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
