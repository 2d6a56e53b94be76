import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { closeAllStateStores } from '../../nodes/shared/state';
import { startGenesysSimulator, type GenesysSimulator, type GenesysSimulatorOptions } from '../simulators/genesysCloud';
import { startXapiLrs, type XapiLrsSimulator } from '../simulators/xapiLrs';
import { startS3Server, type S3TestServer } from './s3';

/** The slice's outside world on 127.0.0.1: object store, Genesys Cloud, an xAPI LRS and a state-store file. */
export interface TestStack {
	s3: S3TestServer;
	genesys: GenesysSimulator;
	lrs: XapiLrsSimulator;
	stateDir: string;
	statePath: string;
	credentials: Record<string, ICredentialDataDecryptedObject>;
	close(): Promise<void>;
}

export async function startStack(genesysOptions: GenesysSimulatorOptions = {}): Promise<TestStack> {
	const s3 = await startS3Server();
	const genesys = await startGenesysSimulator(genesysOptions);
	const lrs = await startXapiLrs();
	const stateDir = mkdtempSync(join(tmpdir(), 'cx-state-'));
	const statePath = join(stateDir, 'state.sqlite');
	const credentials: Record<string, ICredentialDataDecryptedObject> = {
		...simulatorCredentials(s3, genesys, lrs),
		cxStateStoreApi: { driver: 'sqlite', sqlitePath: statePath },
		genesysWebhookAuthApi: { headerName: 'X-CX-Webhook-Secret', secret: 'test-shared-secret' },
	};
	return {
		s3,
		genesys,
		lrs,
		stateDir,
		statePath,
		credentials,
		async close() {
			await Promise.allSettled([s3.close(), genesys.close(), lrs.close()]);
			await closeAllStateStores();
			rmSync(stateDir, { recursive: true, force: true });
		},
	};
}

/** Credential data pointing the package's nodes at the local object store and simulators. */
export function simulatorCredentials(
	s3: S3TestServer,
	genesys: GenesysSimulator,
	lrs: XapiLrsSimulator,
): Record<'genesysCloudApi' | 'cxObjectStoreApi' | 'xapiLrsApi', ICredentialDataDecryptedObject> {
	return {
		genesysCloudApi: genesysCredentialData(genesys),
		cxObjectStoreApi: objectStoreCredentialData(s3),
		xapiLrsApi: { endpoint: lrs.endpoint, key: lrs.key, secret: lrs.secret, version: '1.0.3' },
	};
}

/** n8n credential data (`cxObjectStoreApi`) pointing at a local s3rver. */
export function objectStoreCredentialData(s3: S3TestServer): ICredentialDataDecryptedObject {
	return {
		endpoint: s3.endpoint,
		region: 'us-east-1',
		bucket: s3.bucket,
		accessKeyId: s3.accessKeyId,
		secretAccessKey: s3.secretAccessKey,
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
	};
}

/** n8n credential data (`genesysCloudApi`) pointing at a Genesys Cloud simulator. */
export function genesysCredentialData(genesys: GenesysSimulator): ICredentialDataDecryptedObject {
	return {
		region: 'custom',
		customBaseUrl: genesys.baseUrl,
		customLoginUrl: genesys.loginUrl,
		allowInsecureHttp: true,
		clientId: genesys.clientId,
		clientSecret: genesys.clientSecret,
		allowedMediaHosts: '',
		requestsPerMinute: 300,
	};
}
