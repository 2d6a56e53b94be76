import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { credentialTest } from '../shared/n8n/credentialTests';
import * as evaluation from './actions/evaluation/Evaluation.resource';
import * as recording from './actions/recording/Recording.resource';
import { router } from './actions/router';

export class GenesysCloud implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Genesys Cloud',
		name: 'genesysCloud',
		icon: { light: 'file:genesysCloud.svg', dark: 'file:genesysCloud.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Stage Genesys Cloud screen recordings into your object store, and read quality evaluations as normalised scores',
		defaults: { name: 'Genesys Cloud' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#genesys-cloud-node',
		inputs: [NodeConnectionTypes.Main],
		// Stage Screen Recordings has a second output for recordings to retry later (uploading, restoring) or lost.
		outputs: `={{ ["stageScreenRecordings", "stageBatch"].includes($parameter["operation"]) ? [{ type: "${NodeConnectionTypes.Main}", displayName: "Staged" }, { type: "${NodeConnectionTypes.Main}", displayName: "Not Staged" }] : ["${NodeConnectionTypes.Main}"] }}`,
		usableAsTool: true,
		credentials: [
			{ name: 'genesysCloudApi', required: true },
			{
				name: 'cxObjectStoreApi',
				required: true,
				testedBy: 'cxObjectStoreTest',
				displayOptions: { show: { operation: ['stageScreenRecordings', 'stageBatch'] } },
			},
			{ name: 'cxStateStoreApi', required: false, testedBy: 'cxStateStoreTest', displayOptions: { show: { operation: ['stageScreenRecordings', 'stageBatch'] } } },
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Evaluation', value: 'evaluation' },
					{ name: 'Recording', value: 'recording' },
				],
				default: 'recording',
			},
			...recording.description,
			...evaluation.description,
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
