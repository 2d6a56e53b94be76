import type {
	IAuthenticateGeneric,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestHelper,
	INodeProperties,
} from 'n8n-workflow';

import { CUSTOM_REGION, GENESYS_REGIONS } from '../nodes/shared/ccaas/genesys/regions';

export class GenesysCloudApi implements ICredentialType {
	name = 'genesysCloudApi';

	displayName = 'Genesys Cloud API';

	icon = { light: 'file:../nodes/GenesysCloud/genesysCloud.svg', dark: 'file:../nodes/GenesysCloud/genesysCloud.dark.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#genesys-cloud-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Region',
			name: 'region',
			type: 'options',
			options: [
				...GENESYS_REGIONS.map((region) => ({ name: `${region.name} — ${region.domain}`, value: region.value })),
				{ name: 'Custom (Simulator or Private Deployment)', value: CUSTOM_REGION },
			],
			default: 'us_east_1',
			description: 'The Genesys Cloud region of your organisation (the domain you log in to)',
		},
		{
			displayName: 'Custom API Base URL',
			name: 'customBaseUrl',
			type: 'string',
			default: '',
			placeholder: 'http://127.0.0.1:9101',
			description: 'Base URL of the Platform API, without /api/v2',
			displayOptions: { show: { region: [CUSTOM_REGION] } },
		},
		{
			displayName: 'Custom Login URL',
			name: 'customLoginUrl',
			type: 'string',
			default: '',
			description: 'Base URL of the OAuth token endpoint (…/oauth/token); empty means the API base URL',
			displayOptions: { show: { region: [CUSTOM_REGION] } },
		},
		{
			displayName: 'Allow Plain HTTP (Local Simulator Only)',
			name: 'allowInsecureHttp',
			type: 'boolean',
			default: false,
			description: 'Whether to allow http:// URLs. Only for simulators on this machine; real regions always use HTTPS.',
			displayOptions: { show: { region: [CUSTOM_REGION] } },
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			description: 'OAuth client (grant type Client Credentials) created under Admin > Integrations > OAuth',
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Additional Allowed Media Hosts',
			name: 'allowedMediaHosts',
			type: 'string',
			default: '',
			placeholder: 'media.example.com, cdn.example.net',
			description: 'Comma-separated host names recordings may be downloaded from, besides the region’s own hosts',
		},
		{
			displayName: 'Requests per Minute',
			name: 'requestsPerMinute',
			type: 'number',
			default: 300,
			description: 'Rate limit of this OAuth client (Genesys default: 300 per client-credentials token)',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	/** Lets n8n's own HTTP Request node use this credential; our nodes keep their own cached token. */
	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		const login = loginBaseUrl(credentials);
		const basic = Buffer.from(`${credentials.clientId as string}:${credentials.clientSecret as string}`).toString('base64');
		const response = (await this.helpers.httpRequest({
			method: 'POST',
			url: `${login}/oauth/token`,
			headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
			body: 'grant_type=client_credentials',
		})) as { access_token: string };
		return { accessToken: response.access_token };
	}

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL:
				'={{$credentials.region === "custom" ? $credentials.customBaseUrl.replace(/\\/+$/, "") : "https://api." + ' +
				JSON.stringify(Object.fromEntries(GENESYS_REGIONS.map((r) => [r.value, r.domain]))) +
				'[$credentials.region]}}',
			url: '/api/v2/organizations/me',
			method: 'GET',
		},
	};
}

function loginBaseUrl(credentials: ICredentialDataDecryptedObject): string {
	if (credentials.region === CUSTOM_REGION) {
		return String(credentials.customLoginUrl || credentials.customBaseUrl).replace(/\/+$/, '');
	}
	const region = GENESYS_REGIONS.find((entry) => entry.value === credentials.region);
	return `https://login.${region?.domain ?? 'mypurecloud.com'}`;
}
