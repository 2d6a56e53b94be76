import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

export class RestLmsApi implements ICredentialType {
	name = 'restLmsApi';

	displayName = 'REST LMS API';

	icon = { light: 'file:../nodes/LmsPush/lmsPush.svg', dark: 'file:../nodes/LmsPush/lmsPush.dark.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#rest-lms-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://lms.example.com',
			description: 'Scheme and host of the LMS API; the paths below are appended to it',
		},
		{
			displayName: 'Authentication',
			name: 'authType',
			type: 'options',
			options: [
				{ name: 'Bearer Token', value: 'bearer' },
				{ name: 'API Key Header', value: 'apiKey' },
				{ name: 'Basic', value: 'basic' },
			],
			default: 'bearer',
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as Authorization: Bearer <token>',
			displayOptions: { show: { authType: ['bearer'] } },
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-API-Key',
			description: 'Name of the header that carries the API key',
			displayOptions: { show: { authType: ['apiKey'] } },
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['apiKey'] } },
		},
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			displayOptions: { show: { authType: ['basic'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['basic'] } },
		},
		{
			displayName: 'Requests per Minute',
			name: 'requestsPerMinute',
			type: 'number',
			typeOptions: { minValue: 2 },
			default: 120,
			description: 'The most requests this credential may send in any minute (shared by every execution of this n8n process)',
		},
		{
			displayName: 'Allow Plain HTTP (Local Simulator Only)',
			name: 'allowInsecureHttp',
			type: 'boolean',
			default: false,
			description: 'Whether to allow an http:// base URL. Only for simulators on this machine.',
		},
		{
			displayName: 'Assets Path',
			name: 'assetsPath',
			type: 'string',
			default: '/api/v1/learning/assets',
			description: 'Create (POST), look up (GET ?externalId=) and, with /{id}, update learning assets',
		},
		{
			displayName: 'Assignments Path',
			name: 'assignmentsPath',
			type: 'string',
			default: '/api/v1/learning/assignments',
			description: 'Create (POST) and list (GET ?userId=&since=) assignments',
		},
		{
			displayName: 'Update Method',
			name: 'updateMethod',
			type: 'options',
			options: [
				{ name: 'PATCH (Changed Fields)', value: 'PATCH' },
				{ name: 'PUT (Whole Asset)', value: 'PUT' },
			],
			default: 'PATCH',
		},
		{
			displayName: 'Health Path',
			name: 'healthPath',
			type: 'string',
			default: '',
			placeholder: '/api/v1/health',
			description: 'Checked by the credential test; empty means the assets list with limit=1',
		},
	];

	async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		const headers = { ...(requestOptions.headers ?? {}) } as Record<string, string>;
		if (credentials.authType === 'apiKey') {
			headers[String(credentials.headerName || 'X-API-Key')] = String(credentials.apiKey ?? '');
			return { ...requestOptions, headers };
		}
		if (credentials.authType === 'basic') {
			return { ...requestOptions, auth: { username: String(credentials.username ?? ''), password: String(credentials.password ?? '') } };
		}
		headers.Authorization = `Bearer ${String(credentials.token ?? '')}`;
		return { ...requestOptions, headers };
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '={{$credentials.healthPath || $credentials.assetsPath || "/api/v1/learning/assets"}}',
			qs: { limit: 1 },
			method: 'GET',
		},
	};
}
