import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { NiceClient, type NiceClientOptions } from '../../nodes/shared/ccaas/nice/client';
import type { NiceAuthFlow, NiceCredentials } from '../../nodes/shared/ccaas/nice/types';
import type { NiceSimulator } from '../simulators/niceCxone';

/** Short retry waits so fault tests stay fast. */
export const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

/** Domain-side credentials pointing at a NICE CXone simulator on 127.0.0.1. */
export function simulatorNiceCredentials(sim: NiceSimulator, overrides: Partial<NiceCredentials> = {}): NiceCredentials {
	return {
		authFlow: 'oauth',
		authBaseUrl: sim.authBaseUrl,
		legacyAuthBaseUrl: sim.authBaseUrl,
		clientId: sim.clientId,
		clientSecret: sim.clientSecret,
		accessKeyId: sim.accessKeyId,
		accessKeySecret: sim.accessKeySecret,
		allowInsecureHttp: true,
		extractionMinIntervalMs: 0,
		...overrides,
	};
}

export function simulatorNiceClient(sim: NiceSimulator, overrides: Partial<NiceCredentials> = {}, options: NiceClientOptions = {}): NiceClient {
	return new NiceClient(simulatorNiceCredentials(sim, overrides), { retry: FAST_RETRY, ...options });
}

/** n8n credential data (`niceCxoneApi`) pointing at the simulator. */
export function niceCredentialData(sim: NiceSimulator, authFlow: NiceAuthFlow = 'oauth', extractionIntervalSec = 0): ICredentialDataDecryptedObject {
	return {
		authFlow,
		authBaseUrl: sim.authBaseUrl,
		legacyAuthBaseUrl: sim.authBaseUrl,
		apiBaseUrl: '',
		allowInsecureHttp: true,
		clientId: sim.clientId,
		clientSecret: sim.clientSecret,
		accessKeyId: sim.accessKeyId,
		accessKeySecret: sim.accessKeySecret,
		allowedMediaHosts: '',
		playbackRequestsPer5Min: 150,
		extractionIntervalSec,
	};
}
