import { createHash } from 'node:crypto';

import type { ICredentialDataDecryptedObject, IExecuteFunctions, IPollFunctions } from 'n8n-workflow';

import {
	DEFAULT_AUTH_BASE_URL,
	DEFAULT_EXTRACTION_MIN_INTERVAL_MS,
	DEFAULT_LEGACY_AUTH_BASE_URL,
	DEFAULT_PLAYBACK_PER_5_MIN,
	NiceClient,
} from '../../shared/ccaas/nice/client';
import type { NiceCredentials } from '../../shared/ccaas/nice/types';
import { objectStoreConfigFromCredentials } from '../../shared/n8n/resources';
import { ObjectStore } from '../../shared/store/objectStore';

/** The only way these nodes reach NICE CXone: the shared client (token cache, throttles, SSRF guard). */
export async function niceClient(this: IExecuteFunctions | IPollFunctions, itemIndex = 0): Promise<NiceClient> {
	const credentials = await (this as IExecuteFunctions).getCredentials('niceCxoneApi', itemIndex);
	return new NiceClient(niceCredentials(credentials));
}

export function niceCredentials(credentials: ICredentialDataDecryptedObject): NiceCredentials {
	const intervalSec = Number(credentials.extractionIntervalSec);
	return {
		authFlow: credentials.authFlow === 'accessKey' ? 'accessKey' : 'oauth',
		authBaseUrl: String(credentials.authBaseUrl || DEFAULT_AUTH_BASE_URL),
		legacyAuthBaseUrl: String(credentials.legacyAuthBaseUrl || DEFAULT_LEGACY_AUTH_BASE_URL),
		clientId: (credentials.clientId as string) || undefined,
		clientSecret: (credentials.clientSecret as string) || undefined,
		accessKeyId: String(credentials.accessKeyId ?? ''),
		accessKeySecret: String(credentials.accessKeySecret ?? ''),
		apiBaseUrl: (credentials.apiBaseUrl as string) || undefined,
		allowInsecureHttp: Boolean(credentials.allowInsecureHttp),
		allowedMediaHosts: String(credentials.allowedMediaHosts ?? '')
			.split(',')
			.map((host) => host.trim())
			.filter(Boolean),
		playbackRequestsPer5Min: Number(credentials.playbackRequestsPer5Min) || DEFAULT_PLAYBACK_PER_5_MIN,
		extractionMinIntervalMs: Number.isFinite(intervalSec) && intervalSec >= 0 ? intervalSec * 1000 : DEFAULT_EXTRACTION_MIN_INTERVAL_MS,
	};
}

const customerStores = new Map<string, ObjectStore>();

/** The customer's own bucket (CXone custom storage), one S3 client per credential per process. */
export async function customerStoreFor(ctx: IExecuteFunctions, itemIndex: number): Promise<{ store: ObjectStore; endpoint: string }> {
	const config = objectStoreConfigFromCredentials(await ctx.getCredentials('niceCustomerS3Api', itemIndex));
	const key = createHash('sha256').update(JSON.stringify(config)).digest('hex');
	let store = customerStores.get(key);
	if (!store) {
		store = new ObjectStore(config);
		customerStores.set(key, store);
	}
	return { store, endpoint: config.endpoint ?? '' };
}
