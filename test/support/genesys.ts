import { GenesysClient, type GenesysCredentials } from '../../nodes/shared/ccaas/genesys/client';
import { HttpClient } from '../../nodes/shared/transport/http';
import type { GenesysSimulator } from '../simulators/genesysCloud';

/** Short retry waits so fault tests stay fast. */
export const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

/** Domain-side credentials pointing at a Genesys Cloud simulator on 127.0.0.1. */
export function simulatorGenesysCredentials(sim: GenesysSimulator, overrides: Partial<GenesysCredentials> = {}): GenesysCredentials {
	return {
		region: 'custom',
		customBaseUrl: sim.baseUrl,
		customLoginUrl: sim.loginUrl,
		allowInsecureHttp: true,
		clientId: sim.clientId,
		clientSecret: sim.clientSecret,
		...overrides,
	};
}

export function simulatorGenesysClient(sim: GenesysSimulator, overrides: Partial<GenesysCredentials> = {}): GenesysClient {
	return new GenesysClient(simulatorGenesysCredentials(sim, overrides), new HttpClient({ retry: FAST_RETRY }));
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
	try {
		await promise;
	} catch (error) {
		return error as Error;
	}
	throw new Error('expected a rejection');
}
