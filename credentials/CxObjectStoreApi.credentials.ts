import type { ICredentialType, INodeProperties } from 'n8n-workflow';

export class CxObjectStoreApi implements ICredentialType {
	name = 'cxObjectStoreApi';

	displayName = 'CX Training Object Store (S3) API';

	icon = { light: 'file:../nodes/GenesysCloud/objectStore.svg', dark: 'file:../nodes/GenesysCloud/objectStore.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#object-store-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000',
			description: 'Leave empty for AWS S3; set it for MinIO, GCS interoperability or another S3-compatible store',
		},
		{
			displayName: 'Region',
			name: 'region',
			type: 'string',
			default: 'us-east-1',
		},
		{
			displayName: 'Bucket',
			name: 'bucket',
			type: 'string',
			default: '',
			required: true,
			description: 'Recordings are staged under recordings/<source>/<conversationId>/<recordingId>/ in this bucket',
		},
		{
			displayName: 'Access Key ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
		},
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
			description: 'Whether to address the bucket as <endpoint>/<bucket> instead of <bucket>.<endpoint> (MinIO and most local stores need this)',
		},
		{
			displayName: 'Checksums',
			name: 'checksumMode',
			type: 'options',
			options: [
				{
					name: 'When Supported (AWS S3)',
					value: 'WHEN_SUPPORTED',
					description: 'The AWS SDK default: CRC32 checksums on every upload',
				},
				{
					name: 'When Required (S3-Compatible Stores)',
					value: 'WHEN_REQUIRED',
					description: 'For stores that do not understand aws-chunked uploads with trailing checksums (s3rver, older MinIO, GCS interop)',
				},
			],
			default: 'WHEN_SUPPORTED',
		},
	];
}
