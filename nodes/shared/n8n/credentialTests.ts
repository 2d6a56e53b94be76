import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { openStateStore } from '../state';
import { ObjectStore } from '../store/objectStore';
import { objectStoreConfigFromCredentials } from './resources';

/** Credential tests for the non-HTTP credentials, shared by every node that uses them (`testedBy`). */
export const credentialTest = {
	async cxObjectStoreTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
		const data = credential.data ?? {};
		try {
			const store = new ObjectStore(objectStoreConfigFromCredentials(data));
			await store.checkAccess();
			return { status: 'OK', message: 'Connection successful!' };
		} catch (error) {
			return { status: 'Error', message: (error as Error).message };
		}
	},

	async cxStateStoreTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
		const data = credential.data ?? {};
		if (data.driver !== 'postgres' && !data.sqlitePath) {
			return { status: 'OK', message: 'The default SQLite file in the n8n folder will be used' };
		}
		try {
			const store =
				data.driver === 'postgres'
					? await openStateStore({
							driver: 'postgres',
							host: String(data.host),
							port: Number(data.port),
							database: String(data.database),
							user: String(data.user),
							password: String(data.password ?? ''),
							schema: String(data.schema || 'cx_training'),
						})
					: await openStateStore({ driver: 'sqlite', path: String(data.sqlitePath) });
			await store.hasIdempotencyKey('credential-test');
			return { status: 'OK', message: 'Connection successful!' };
		} catch (error) {
			return { status: 'Error', message: (error as Error).message };
		}
	},

	/** An inbound secret cannot be tried against a remote API; check it is strong enough to guard a public URL. */
	async genesysWebhookSecretTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
		const data = credential.data ?? {};
		const secret = String(data.secret ?? '');
		const header = String(data.headerName ?? '');
		if (!/^[A-Za-z0-9-]{1,64}$/.test(header)) return { status: 'Error', message: 'Header Name must be a plain HTTP header name' };
		if (secret.length < 16) return { status: 'Error', message: 'Shared Secret must be at least 16 characters long' };
		return { status: 'OK', message: 'The secret is long enough; requests must send it in the ' + header + ' header' };
	},
};
