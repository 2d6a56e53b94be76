import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import * as evaluation from './actions/evaluation/Evaluation.resource';
import * as recording from './actions/recording/Recording.resource';
import { router } from './actions/router';
import { credentialTest } from './methods/credentialTest';

export class NiceCxone implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NICE CXone',
		name: 'niceCxone',
		icon: { light: 'file:niceCxone.svg', dark: 'file:niceCxone.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Stage NICE CXone voice-and-screen recordings into your object store and read QM evaluations as normalised scores',
		defaults: { name: 'NICE CXone' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#nice-cxone-node',
		inputs: [NodeConnectionTypes.Main],
		// Staging and pick-up have a second output for what could not be staged (unknown contact, no screen media, unmatched key).
		outputs: `={{ ["stageVoiceAndScreen", "pickUpFromS3"].includes($parameter["operation"]) ? [{ type: "${NodeConnectionTypes.Main}", displayName: "Staged" }, { type: "${NodeConnectionTypes.Main}", displayName: "Not Staged" }] : ["${NodeConnectionTypes.Main}"] }}`,
		usableAsTool: true,
		credentials: [
			{
				name: 'niceCxoneApi',
				required: true,
				testedBy: 'niceCxoneApiTest',
				displayOptions: { show: { operation: ['stageVoiceAndScreen', 'getEvaluations'] } },
			},
			{
				name: 'niceCustomerS3Api',
				required: true,
				testedBy: 'niceCustomerS3Test',
				displayOptions: { show: { operation: ['pickUpFromS3'] } },
			},
			{
				name: 'cxObjectStoreApi',
				required: true,
				testedBy: 'cxObjectStoreTest',
				displayOptions: { show: { operation: ['stageVoiceAndScreen', 'pickUpFromS3'] } },
			},
			{
				name: 'cxStateStoreApi',
				required: false,
				testedBy: 'cxStateStoreTest',
				displayOptions: { show: { operation: ['stageVoiceAndScreen', 'pickUpFromS3'] } },
			},
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
