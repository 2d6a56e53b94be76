import { clearNiceClientCaches, NiceClient, tenantIdFromIdToken } from '../../nodes/shared/ccaas/nice/client';
import { HttpError } from '../../nodes/shared/transport/errors';
import { startNiceCxoneSimulator, type NiceSimulator } from '../simulators/niceCxone';
import { FAST_RETRY, simulatorNiceClient, simulatorNiceCredentials } from '../support/nice';

let sim: NiceSimulator;

beforeEach(async () => {
	clearNiceClientCaches();
	sim = await startNiceCxoneSimulator({ tenantId: 'tenant-abc', extractionIntervalMs: 0 });
});

afterEach(async () => {
	await sim.close();
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
	try {
		await promise;
	} catch (error) {
		return error as Error;
	}
	throw new Error('expected a rejection');
}

describe('NICE CXone auth', () => {
	it('OAuth flow: OpenID discovery, password grant with Basic client, tenantId from id_token, API host from cxone-configuration', async () => {
		const client = simulatorNiceClient(sim);
		const session = await client.session();
		expect(session.tenantId).toBe('tenant-abc');
		expect(session.area).toBe('na1');
		expect(session.apiBaseUrl).toBe(sim.baseUrl);
		expect(session.accessToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
		expect(sim.stats).toMatchObject({ discoveryRequests: 1, configurationRequests: 1, oauthTokenRequests: 1, accessKeyTokenRequests: 0 });
		// The token is cached per process until shortly before expiry; a second client with the same credential reuses it.
		await simulatorNiceClient(sim).session();
		expect(sim.stats.oauthTokenRequests).toBe(1);
		const list = await client.api<{ jobs: unknown[] }>({ method: 'GET', path: '/data-extraction/v1/jobs' });
		expect(list.body.jobs).toEqual([]);
	});

	it('legacy access-key flow: POST token/access-key, API host from resource_server_base_uri', async () => {
		const client = simulatorNiceClient(sim, { authFlow: 'accessKey', clientId: undefined, clientSecret: undefined });
		const session = await client.session();
		expect(session.apiBaseUrl).toBe(sim.baseUrl);
		expect(session.tenantId).toBeUndefined();
		expect(sim.stats).toMatchObject({ accessKeyTokenRequests: 1, oauthTokenRequests: 0, discoveryRequests: 0 });
		expect((await client.api<{ jobs: unknown[] }>({ method: 'GET', path: '/data-extraction/v1/jobs' })).status).toBe(200);
	});

	it('refreshes the token shortly before it expires', async () => {
		await sim.close();
		sim = await startNiceCxoneSimulator({ tokenTtlSec: 30, extractionIntervalMs: 0 });
		const client = simulatorNiceClient(sim);
		const first = await client.session();
		// expires_in 30 s is inside the 60 s safety margin: every call asks for a new token.
		const second = await client.session();
		expect(second.accessToken).not.toBe(first.accessToken);
		expect(sim.stats.oauthTokenRequests).toBe(2);
	});

	it('a wrong access key secret fails with the vendor error and never echoes the secret', async () => {
		const client = new NiceClient(simulatorNiceCredentials(sim, { accessKeySecret: 'wrong-secret-value' }), { retry: FAST_RETRY });
		const error = await rejection(client.session());
		expect(error).toBeInstanceOf(HttpError);
		expect((error as HttpError).status).toBe(400);
		expect(error.message).toContain('Invalid access key');
		expect(error.message).not.toContain('wrong-secret-value');
		expect(JSON.stringify(error)).not.toContain(sim.clientSecret);
	});

	it('a 401 from the API refreshes the session once', async () => {
		const client = simulatorNiceClient(sim);
		await client.session();
		sim.setFault({ path: '/data-extraction/v1/jobs', status: 401, count: 1 });
		expect((await client.api({ method: 'GET', path: '/data-extraction/v1/jobs' })).status).toBe(200);
		expect(sim.stats.oauthTokenRequests).toBe(2);
	});

	it('refuses plain http unless the credential is marked as a simulator, and signed URLs from foreign hosts', async () => {
		expect(() => new NiceClient(simulatorNiceCredentials(sim, { allowInsecureHttp: false }))).toThrow(/only https/);
		const client = simulatorNiceClient(sim);
		expect(() => client.assertAllowedSignedUrl('http://169.254.169.254/latest/meta-data')).toThrow(/not allowed/);
		expect(() => client.assertAllowedSignedUrl(`${sim.baseUrl}/signed/media/x.mp4`)).not.toThrow();
		const production = new NiceClient({ ...simulatorNiceCredentials(sim), authBaseUrl: 'https://cxone.niceincontact.com', legacyAuthBaseUrl: undefined, allowInsecureHttp: false });
		expect(() => production.assertAllowedSignedUrl('https://bucket.s3.us-west-2.amazonaws.com/media.mp4?sig=1')).not.toThrow();
		expect(() => production.assertAllowedSignedUrl('http://bucket.s3.us-west-2.amazonaws.com/media.mp4')).toThrow(/only https/);
		expect(() => production.assertAllowedSignedUrl('https://evil.example.com/media.mp4')).toThrow(/not allowed/);
	});

	it('reads tenantId from the id_token payload', () => {
		const token = ['e30', Buffer.from(JSON.stringify({ tenantId: 't-1' })).toString('base64url'), 'sig'].join('.');
		expect(tenantIdFromIdToken(token)).toBe('t-1');
		expect(tenantIdFromIdToken('garbage')).toBeUndefined();
	});
});
