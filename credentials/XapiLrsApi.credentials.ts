import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

export class XapiLrsApi implements ICredentialType {
	name = 'xapiLrsApi';

	displayName = 'xAPI LRS API';

	icon = { light: 'file:../nodes/LmsPush/lmsPush.svg', dark: 'file:../nodes/LmsPush/lmsPush.dark.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#xapi-lrs-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://lrs.example.com/xAPI/',
			description: 'The LRS endpoint; statements live at <endpoint>/statements',
		},
		{
			displayName: 'Key',
			name: 'key',
			type: 'string',
			default: '',
			required: true,
			description: 'Basic-auth key (username) of an LRS client',
		},
		{
			displayName: 'Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'xAPI Version',
			name: 'version',
			type: 'options',
			options: [
				{ name: '1.0.3', value: '1.0.3' },
				{ name: '2.0 (IEEE 9274.1.1)', value: '2.0.0' },
			],
			default: '1.0.3',
			description: 'Sent as X-Experience-API-Version on every request',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			auth: { username: '={{$credentials.key}}', password: '={{$credentials.secret}}' },
			headers: { 'X-Experience-API-Version': '={{$credentials.version}}' },
		},
	};

	// A statements query needs both valid credentials and a valid version header (About needs neither).
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.endpoint.replace(/\\/+$/, "")}}',
			url: '/statements',
			qs: { limit: 1 },
			method: 'GET',
		},
	};
}
