/** Genesys Cloud regions and their domains (purecloud-platform-client-v2 PureCloudRegionHosts.js). */
export const GENESYS_REGIONS: ReadonlyArray<{ value: string; name: string; domain: string }> = [
	{ value: 'us_east_1', name: 'Americas (US East)', domain: 'mypurecloud.com' },
	{ value: 'us_east_2', name: 'Americas (US East 2, FedRAMP)', domain: 'use2.us-gov-pure.cloud' },
	{ value: 'us_west_2', name: 'Americas (US West)', domain: 'usw2.pure.cloud' },
	{ value: 'ca_central_1', name: 'Americas (Canada)', domain: 'cac1.pure.cloud' },
	{ value: 'sa_east_1', name: 'Americas (São Paulo)', domain: 'sae1.pure.cloud' },
	{ value: 'mx_central_1', name: 'Americas (Mexico)', domain: 'mxc1.pure.cloud' },
	{ value: 'eu_west_1', name: 'EMEA (Dublin)', domain: 'mypurecloud.ie' },
	{ value: 'eu_west_2', name: 'EMEA (London)', domain: 'euw2.pure.cloud' },
	{ value: 'eu_central_1', name: 'EMEA (Frankfurt)', domain: 'mypurecloud.de' },
	{ value: 'eu_central_2', name: 'EMEA (Zurich)', domain: 'euc2.pure.cloud' },
	{ value: 'me_central_1', name: 'EMEA (UAE)', domain: 'mec1.pure.cloud' },
	{ value: 'eusc_de_east_1', name: 'EMEA (EU Sovereign Cloud, Germany)', domain: 'edee1.eusc-pure.cloud' },
	{ value: 'ap_south_1', name: 'Asia Pacific (Mumbai)', domain: 'aps1.pure.cloud' },
	{ value: 'ap_southeast_1', name: 'Asia Pacific (Jakarta)', domain: 'apse1.pure.cloud' },
	{ value: 'ap_southeast_2', name: 'Asia Pacific (Sydney)', domain: 'mypurecloud.com.au' },
	{ value: 'ap_northeast_1', name: 'Asia Pacific (Tokyo)', domain: 'mypurecloud.jp' },
	{ value: 'ap_northeast_2', name: 'Asia Pacific (Seoul)', domain: 'apne2.pure.cloud' },
	{ value: 'ap_northeast_3', name: 'Asia Pacific (Osaka)', domain: 'apne3.pure.cloud' },
];

export const CUSTOM_REGION = 'custom';

export interface GenesysEndpoints {
	apiBaseUrl: string;
	loginBaseUrl: string;
	/** Hosts media may be downloaded from (signed recording URLs). */
	mediaHostSuffixes: string[];
}

/**
 * Signed recording URLs point at Genesys' regional media storage; the exact host names are not documented,
 * so the regional domain and AWS S3 hosts are allowed and operators can add their own.
 */
const AWS_MEDIA_HOST_SUFFIXES = ['amazonaws.com'];

export function genesysEndpoints(region: string, customBaseUrl?: string, customLoginUrl?: string): GenesysEndpoints {
	if (region === CUSTOM_REGION) {
		if (!customBaseUrl) throw new Error('Custom Base URL is required when Region is "Custom"');
		const apiBaseUrl = trimSlash(customBaseUrl);
		const loginBaseUrl = trimSlash(customLoginUrl || customBaseUrl);
		return { apiBaseUrl, loginBaseUrl, mediaHostSuffixes: [new URL(apiBaseUrl).hostname] };
	}
	const entry = GENESYS_REGIONS.find((candidate) => candidate.value === region);
	if (!entry) throw new Error(`Unknown Genesys Cloud region "${region}"`);
	return {
		apiBaseUrl: `https://api.${entry.domain}`,
		loginBaseUrl: `https://login.${entry.domain}`,
		mediaHostSuffixes: [entry.domain, ...AWS_MEDIA_HOST_SUFFIXES],
	};
}

function trimSlash(url: string): string {
	return url.replace(/\/+$/, '');
}
