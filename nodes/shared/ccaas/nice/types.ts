/**
 * NICE CXone shapes as far as the public sources show them (reference/ccaas-apis.md §2). Plain module: no n8n types.
 */
export type NiceAuthFlow = 'oauth' | 'accessKey';

export interface NiceCredentials {
	/** `oauth`: registered app + user access key (documented flow); `accessKey`: the legacy access-key endpoint. */
	authFlow: NiceAuthFlow;
	/** Host of the OpenID and cxone-configuration documents (default https://cxone.niceincontact.com). */
	authBaseUrl: string;
	/** Host of `/authentication/v1/token/access-key` (default https://na1.nice-incontact.com). */
	legacyAuthBaseUrl?: string;
	/** OAuth client of the registered application (oauth flow only). */
	clientId?: string;
	clientSecret?: string;
	accessKeyId: string;
	accessKeySecret: string;
	/** Skips API host discovery (private deployments, simulators). */
	apiBaseUrl?: string;
	/** Plain http and loopback hosts, for simulators only. */
	allowInsecureHttp?: boolean;
	/** Extra hosts (suffix match) signed media and result URLs may come from. */
	allowedMediaHosts?: string[];
	/** Media Playback API quota; NICE's default is 150 requests per five minutes. */
	playbackRequestsPer5Min?: number;
	/** Spacing of Data Extraction calls per tenant; NICE allows one call per 30 seconds. */
	extractionMinIntervalMs?: number;
}

export interface NiceSession {
	accessToken: string;
	expiresAt: number;
	apiBaseUrl: string;
	/** From the id_token (oauth flow); the legacy flow does not name the tenant. */
	tenantId?: string;
	area?: string;
}

export type ExtractionJobState = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';

/** `GET /data-extraction/v1/jobs/{jobId}` → `{ jobStatus }`. */
export interface ExtractionJobStatus {
	id: string;
	status: ExtractionJobState | string;
	result?: { url?: string; errorMessage?: string };
}

export interface ExtractionEntity {
	entityName: string;
	version: string;
}

/** One CSV row, keyed by the normalised column name (see normaliseColumnName). */
export type CsvRow = Record<string, string>;
