import type { ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';

import { GenesysClient, type GenesysCredentials } from '../../shared/ccaas/genesys/client';

/** The only way this node reaches Genesys Cloud: the shared client (token cache, retry, rate limit, SSRF guard). */
export async function genesysClient(this: IExecuteFunctions, itemIndex: number): Promise<GenesysClient> {
	const credentials = await this.getCredentials('genesysCloudApi', itemIndex);
	return new GenesysClient(genesysCredentials(credentials));
}

export function genesysCredentials(credentials: ICredentialDataDecryptedObject): GenesysCredentials {
	return {
		region: String(credentials.region ?? 'us_east_1'),
		customBaseUrl: (credentials.customBaseUrl as string) || undefined,
		customLoginUrl: (credentials.customLoginUrl as string) || undefined,
		clientId: String(credentials.clientId ?? ''),
		clientSecret: String(credentials.clientSecret ?? ''),
		allowInsecureHttp: credentials.region === 'custom' && Boolean(credentials.allowInsecureHttp),
		allowedMediaHosts: String(credentials.allowedMediaHosts ?? '')
			.split(',')
			.map((host) => host.trim())
			.filter(Boolean),
		requestsPerMinute: Number(credentials.requestsPerMinute) || 300,
	};
}
