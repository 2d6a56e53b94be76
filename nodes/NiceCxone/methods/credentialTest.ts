import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { NiceClient } from '../../shared/ccaas/nice/client';
import { listExtractionJobs } from '../../shared/ccaas/nice/extraction';
import { credentialTest as sharedTests } from '../../shared/n8n/credentialTests';
import { niceCredentials } from '../transport';

/** Credential tests of the NICE CXone nodes (`testedBy`). Messages never carry secrets. */
export const credentialTest = {
	...sharedTests,

	/** Fetches a token (discovery included) and lists Data Extraction jobs: one cheap authenticated call. */
	async niceCxoneApiTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
		try {
			const client = new NiceClient(niceCredentials(credential.data ?? {}));
			const session = await client.session(true);
			await listExtractionJobs(client);
			const where = session.tenantId ? `tenant ${session.tenantId}, ` : '';
			return { status: 'OK', message: `Connection successful (${where}API ${session.apiBaseUrl})` };
		} catch (error) {
			return { status: 'Error', message: (error as Error).message };
		}
	},

	/** The customer's bucket is an S3 store like the staging one: the same access check. */
	niceCustomerS3Test: sharedTests.cxObjectStoreTest,
};
