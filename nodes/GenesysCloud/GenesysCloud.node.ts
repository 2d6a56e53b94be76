import type {
	ICredentialTestFunctions,
	ICredentialsDecrypted,
	IExecuteFunctions,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { ObjectStore } from '../shared/store/objectStore';
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
		description: 'Stage Genesys Cloud screen recordings into your object store and read recording metadata',
		defaults: { name: 'Genesys Cloud' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#genesys-cloud-node',
		inputs: ['main'],
		outputs: ['main'],
		credentials: [
			{ name: 'genesysCloudApi', required: true },
			{
				name: 'cxObjectStoreApi',
				required: true,
				testedBy: 'cxObjectStoreTest',
				displayOptions: { show: { operation: ['stageScreenRecordings'] } },
			},
			{ name: 'cxStateStoreApi', required: false, displayOptions: { show: { operation: ['stageScreenRecordings'] } } },
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [{ name: 'Recording', value: 'recording' }],
				default: 'recording',
			},
			...recording.description,
		],
	};

	methods = {
		credentialTest: {
			async cxObjectStoreTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				const data = credential.data ?? {};
				try {
					const store = new ObjectStore({
						endpoint: (data.endpoint as string) || undefined,
						region: (data.region as string) || 'us-east-1',
						bucket: data.bucket as string,
						accessKeyId: data.accessKeyId as string,
						secretAccessKey: data.secretAccessKey as string,
						forcePathStyle: Boolean(data.forcePathStyle),
						checksumMode: data.checksumMode === 'WHEN_REQUIRED' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
					});
					await store.head('cx-training-credential-test');
					return { status: 'OK', message: 'Connection successful!' };
				} catch (error) {
					return { status: 'Error', message: (error as Error).message };
				}
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
