import type {
	IAuthenticateGeneric,
	ICredentialDataDecryptedObject,
	ICredentialType,
	IHttpRequestHelper,
	INodeProperties,
} from 'n8n-workflow';

/**
 * NICE CXone (CXone Mpower) API access. Our nodes authenticate with their own cached session (nodes/shared/ccaas/nice);
 * preAuthentication only serves n8n's HTTP Request node. The credential is tested by the nodes (`niceCxoneApiTest`),
 * which fetch a token and list Data Extraction jobs.
 */
export class NiceCxoneApi implements ICredentialType {
	name = 'niceCxoneApi';

	displayName = 'NICE CXone API';

	icon = { light: 'file:../nodes/NiceCxone/niceCxone.svg', dark: 'file:../nodes/NiceCxone/niceCxone.dark.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#nice-cxone-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Authentication Flow',
			name: 'authFlow',
			type: 'options',
			options: [
				{
					name: 'Access Key Only (Legacy)',
					value: 'accessKey',
					description: 'POST /authentication/v1/token/access-key with the access key alone',
				},
				{
					name: 'Registered App + Access Key (OAuth)',
					value: 'oauth',
					description: 'The documented flow: OpenID discovery, password grant with your registered application, API host discovery',
				},
			],
			default: 'oauth',
		},
		{
			displayName: 'Auth Base URL',
			name: 'authBaseUrl',
			type: 'string',
			default: 'https://cxone.niceincontact.com',
			description: 'Where /.well-known/openid-configuration and /.well-known/cxone-configuration are served',
			displayOptions: { show: { authFlow: ['oauth'] } },
		},
		{
			displayName: 'Access-Key Token Base URL',
			name: 'legacyAuthBaseUrl',
			type: 'string',
			default: 'https://na1.nice-incontact.com',
			description: 'Host of /authentication/v1/token/access-key for your cluster',
			displayOptions: { show: { authFlow: ['accessKey'] } },
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			description: 'Client ID of the application registered with NICE for your tenant',
			displayOptions: { show: { authFlow: ['oauth'] } },
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authFlow: ['oauth'] } },
		},
		{
			displayName: 'Access Key ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
			description: 'Access key of the API user (Admin > Employees > the user > Access Keys)',
		},
		{
			displayName: 'Access Key Secret',
			name: 'accessKeySecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://api-na1.niceincontact.com',
			description: 'Leave empty to discover it (cxone-configuration, or the access-key answer); set it for private deployments',
		},
		{
			displayName: 'Allow Plain HTTP (Local Simulator Only)',
			name: 'allowInsecureHttp',
			type: 'boolean',
			default: false,
			description: 'Whether to allow http:// URLs. Only for a simulator on this machine; NICE CXone always uses HTTPS.',
		},
		{
			displayName: 'Additional Allowed Media Hosts',
			name: 'allowedMediaHosts',
			type: 'string',
			default: '',
			placeholder: 'media.example.com',
			description: 'Comma-separated hosts signed media and result links may come from, besides NICE and AWS S3 hosts',
		},
		{
			displayName: 'Media Playback Requests per 5 Minutes',
			name: 'playbackRequestsPer5Min',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 150,
			description: 'Media Playback API quota of your tenant (NICE default: 150 per five minutes)',
		},
		{
			displayName: 'Data Extraction Call Interval (Seconds)',
			name: 'extractionIntervalSec',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 30,
			description: 'NICE allows one Data Extraction call per 30 seconds per tenant and answers more with 403; lower only for a simulator',
		},
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	/** Lets n8n's HTTP Request node use this credential (Bearer token only; the API host is the user's to set). */
	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		if (credentials.authFlow === 'accessKey') {
			const base = String(credentials.legacyAuthBaseUrl || 'https://na1.nice-incontact.com').replace(/\/+$/, '');
			const response = (await this.helpers.httpRequest({
				method: 'POST',
				url: `${base}/authentication/v1/token/access-key`,
				body: { accessKeyId: credentials.accessKeyId, accessKeySecret: credentials.accessKeySecret },
				json: true,
			})) as { access_token: string };
			return { sessionToken: response.access_token };
		}
		const base = String(credentials.authBaseUrl || 'https://cxone.niceincontact.com').replace(/\/+$/, '');
		const discovery = (await this.helpers.httpRequest({ method: 'GET', url: `${base}/.well-known/openid-configuration`, json: true })) as {
			token_endpoint: string;
		};
		const basic = Buffer.from(`${credentials.clientId as string}:${credentials.clientSecret as string}`).toString('base64');
		const response = (await this.helpers.httpRequest({
			method: 'POST',
			url: discovery.token_endpoint,
			headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'password',
				username: String(credentials.accessKeyId),
				password: String(credentials.accessKeySecret),
			}).toString(),
		})) as { access_token: string } | string;
		const parsed = typeof response === 'string' ? (JSON.parse(response) as { access_token: string }) : response;
		return { sessionToken: parsed.access_token };
	}

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.sessionToken}}' } },
	};
}
