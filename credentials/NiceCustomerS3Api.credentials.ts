import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Read access to the S3 bucket NICE CXone "Custom storage" writes recordings into (the customer's own bucket). */
export class NiceCustomerS3Api implements ICredentialType {
	name = 'niceCustomerS3Api';

	displayName = 'NICE CXone Customer S3 Bucket API';

	icon = { light: 'file:../nodes/NiceCxone/niceCxone.svg', dark: 'file:../nodes/NiceCxone/niceCxone.dark.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#nice-cxone-node';

	properties: INodeProperties[] = [
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'http://127.0.0.1:9000',
			description: 'Leave empty for AWS S3 (CXone custom storage must be in the same AWS region as your tenant)',
		},
		{ displayName: 'Region', name: 'region', type: 'string', default: 'us-east-1' },
		{
			displayName: 'Bucket',
			name: 'bucket',
			type: 'string',
			default: '',
			required: true,
			description: 'The bucket configured as CXone custom storage for call and screen recordings',
		},
		{ displayName: 'Access Key ID', name: 'accessKeyId', type: 'string', default: '', required: true },
		{
			displayName: 'Secret Access Key',
			name: 'secretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Force Path-Style URLs',
			name: 'forcePathStyle',
			type: 'boolean',
			default: false,
			description: 'Whether to address the bucket as endpoint/bucket (MinIO and local stores need this)',
		},
		{
			displayName: 'Checksums',
			name: 'checksumMode',
			type: 'options',
			options: [
				{ name: 'When Required (S3-Compatible Stores)', value: 'WHEN_REQUIRED' },
				{ name: 'When Supported (AWS S3)', value: 'WHEN_SUPPORTED' },
			],
			default: 'WHEN_SUPPORTED',
		},
	];
}
