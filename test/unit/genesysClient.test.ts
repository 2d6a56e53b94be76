import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

import { clearGenesysTokenCache, GenesysClient } from '../../nodes/shared/ccaas/genesys/client';
import { HttpError } from '../../nodes/shared/transport/errors';
import { HttpClient } from '../../nodes/shared/transport/http';
import { startGenesysSimulator, type GenesysSimulator } from '../simulators/genesysCloud';
import { syntheticSha256 } from '../simulators/syntheticMedia';
import { rejection, simulatorGenesysClient, simulatorGenesysCredentials } from '../support/genesys';

const FAST = { baseDelayMs: 5, maxDelayMs: 20 };
const AGENT = { id: 'agent-a', name: 'Ada', email: 'ada@example.com' };
const SCREEN_SIZE = 300 * 1024 + 3;

const credentialsFor = simulatorGenesysCredentials;
const clientFor = simulatorGenesysClient;

async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}


let sim: GenesysSimulator;

beforeAll(async () => {
	sim = await startGenesysSimulator({ tokenTtlSec: 3600 });
	sim.seedConversation({
		conversationId: 'conv-ready',
		recordings: [
			{ recordingId: 'rec-screen', media: 'screen', users: [AGENT], sizeBytes: SCREEN_SIZE, seed: 's1' },
			{ recordingId: 'rec-audio', media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 1024 },
		],
	});
});

afterAll(async () => {
	await sim.close();
});

beforeEach(() => {
	clearGenesysTokenCache();
	sim.clearFaults();
	sim.resetStats();
});

afterEach(() => {
	jest.restoreAllMocks();
});

describe('GenesysClient: access tokens', () => {
	it('requests one token and reuses it for later calls', async () => {
		const client = clientFor(sim);
		const org = await client.getOrganization();
		expect(org.id).toBe(sim.orgId);
		await client.getOrganization();
		await client.getRecordings('conv-ready');
		expect(sim.stats.tokenRequests).toBe(1);
		expect(sim.stats.apiRequests).toBe(3);
	});

	it('shares the token between client instances with the same credential', async () => {
		await clientFor(sim).getOrganization();
		await clientFor(sim).getOrganization();
		await new GenesysClient(credentialsFor(sim)).getOrganization();
		expect(sim.stats.tokenRequests).toBe(1);
	});

	it('never hands the cached token to a client with another secret', async () => {
		await clientFor(sim).getOrganization();
		const error = (await rejection(clientFor(sim, { clientSecret: 'wrong-secret' }).getOrganization())) as HttpError;
		expect(error).toBeInstanceOf(HttpError);
		expect(error.status).toBe(401);
		expect(error.vendorCode).toBe('invalid_client');
		expect(error.message).toContain('authentication failed');
		expect(error.message).not.toContain('wrong-secret');
		expect(sim.stats.tokenRequests).toBe(2);
		expect(sim.stats.apiRequests).toBe(1);
	});

	it('makes concurrent first callers share one token request', async () => {
		const a = clientFor(sim);
		const b = clientFor(sim);
		const orgs = await Promise.all([a.getOrganization(), b.getOrganization(), a.getOrganization(), b.getAccessToken(), a.getAccessToken()]);
		expect(orgs.slice(0, 3).map((org) => (org as { id: string }).id)).toEqual([sim.orgId, sim.orgId, sim.orgId]);
		expect(orgs[3]).toBe(orgs[4]);
		expect(sim.stats.tokenRequests).toBe(1);
		expect(sim.stats.tokensIssued).toBe(1);
	});

	it('refreshes the token shortly (60 s) before it expires, not earlier', async () => {
		const realNow = Date.now.bind(Date);
		let offsetMs = 0;
		jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
		const client = clientFor(sim);
		const first = await client.getAccessToken();
		offsetMs = (3600 - 61) * 1000;
		expect(await client.getAccessToken()).toBe(first);
		await client.getOrganization();
		expect(sim.stats.tokenRequests).toBe(1);
		offsetMs = (3600 - 59) * 1000;
		const second = await client.getAccessToken();
		expect(second).not.toBe(first);
		await client.getOrganization();
		expect(sim.stats.tokenRequests).toBe(2);
		// The old token was still valid at the server: the refresh was proactive, not after a 401.
		expect(sim.stats.byStatus['401'] ?? 0).toBe(0);
	});

	it('refreshes once on a 401 (token revoked or expired at the server) and succeeds', async () => {
		const client = clientFor(sim);
		await client.getOrganization();
		sim.advanceTime(3601 * 1000);
		try {
			const org = await client.getOrganization();
			expect(org.id).toBe(sim.orgId);
		} finally {
			sim.advanceTime(-3601 * 1000);
		}
		expect(sim.stats.tokenRequests).toBe(2);
		expect(sim.stats.byStatus['401']).toBe(1);
		expect(sim.stats.apiRequests).toBe(3);
	});

	it('gives up after one refresh when the new token is refused as well', async () => {
		const dead = await startGenesysSimulator({ tokenTtlSec: 0 });
		try {
			const error = (await rejection(clientFor(dead).getOrganization())) as HttpError;
			expect(error).toBeInstanceOf(HttpError);
			expect(error.status).toBe(401);
			expect(error.vendorCode).toBe('bad.credentials');
			expect(dead.stats.apiRequests).toBe(2);
			expect(dead.stats.tokenRequests).toBe(2);
		} finally {
			await dead.close();
		}
	});

	it('refuses a token answer without access_token', async () => {
		const server = createServer((req, res) => {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ token_type: 'bearer', expires_in: 3600 }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
			const client = new GenesysClient(
				{ region: 'custom', customBaseUrl: url, allowInsecureHttp: true, clientId: 'c', clientSecret: 's' },
				new HttpClient({ retry: FAST }),
			);
			await expect(client.getAccessToken()).rejects.toThrow('Genesys Cloud token endpoint answered without an access_token');
		} finally {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		}
	});
});

describe('GenesysClient: retries through the transport', () => {
	it('retries a 429 with Retry-After, a 503 and a dropped connection on the API', async () => {
		const client = clientFor(sim);
		await client.getAccessToken();
		sim.setFault({ path: '/api/v2/conversations/*/recordings', status: 429, retryAfterSec: 0 });
		sim.setFault({ path: '/api/v2/conversations/*/recordings', status: 503 });
		sim.setFault({ path: '/api/v2/conversations/*/recordings', drop: true });
		const answer = await client.getRecordings('conv-ready');
		expect(answer.state).toBe('ready');
		expect(sim.stats.faultsInjected).toBe(3);
		expect(sim.stats.rateLimited429).toBe(1);
		expect(sim.stats.byPath['GET /api/v2/conversations/conv-ready/recordings']).toBe(4);
		expect(sim.stats.tokenRequests).toBe(1);
	});

	it('retries a 502 on the token endpoint', async () => {
		sim.setFault({ path: '/oauth/token', status: 502, count: 2 });
		await clientFor(sim).getAccessToken();
		expect(sim.stats.byPath['POST /oauth/token']).toBe(3);
		expect(sim.stats.tokensIssued).toBe(1);
	});
});

describe('GenesysClient: recordings', () => {
	it('returns the recordings with signed media URIs once ready', async () => {
		const answer = await clientFor(sim).getRecordings('conv-ready', { maxWaitMs: 0 });
		expect(answer.state).toBe('ready');
		if (answer.state !== 'ready') return;
		expect(answer.recordings.map((r) => [r.id, r.mediaSubtype]).sort()).toEqual([
			['rec-audio', 'Trunk'],
			['rec-screen', 'Screen'],
		]);
		const screen = answer.recordings.find((r) => r.id === 'rec-screen')!;
		expect(screen.users?.[0]?.id).toBe('agent-a');
		expect(screen.mediaUris?.['0']?.mediaUri).toMatch(new RegExp(`^${sim.baseUrl}/media/conv-ready/rec-screen\\.webm\\?`));
	});

	it('polls through 202 answers until the recordings are ready', async () => {
		sim.seedConversation({
			conversationId: 'conv-transcoding',
			recordings: [{ recordingId: 'rec-t', media: 'screen', users: [AGENT], sizeBytes: 1024, transcode202Count: 2 }],
		});
		const answer = await clientFor(sim).waitForRecordings('conv-transcoding', { maxTotalWaitMs: 5000, maxWaitMs: 0, pollIntervalMs: 10 });
		expect(answer.state).toBe('ready');
		expect(answer.polls).toBe(3);
		expect(sim.stats.accepted202).toBe(2);
		expect(sim.stats.recordingListCalls).toBe(3);
		if (answer.state === 'ready') expect(answer.recordings.map((r) => r.id)).toEqual(['rec-t']);
	});

	it('stops polling after maxTotalWaitMs and reports transcoding', async () => {
		sim.seedConversation({
			conversationId: 'conv-forever',
			recordings: [{ recordingId: 'rec-f', media: 'screen', sizeBytes: 1024, transcode202Count: 10_000 }],
		});
		const started = Date.now();
		const answer = await clientFor(sim).waitForRecordings('conv-forever', { maxTotalWaitMs: 300, maxWaitMs: 0, pollIntervalMs: 40 });
		const elapsed = Date.now() - started;
		expect(answer.state).toBe('transcoding');
		expect(answer.waitedMs).toBeGreaterThanOrEqual(300);
		expect(elapsed).toBeLessThan(800);
		expect(answer.polls).toBe(sim.stats.recordingListCalls);
		expect(answer.polls).toBeGreaterThanOrEqual(3);
		expect(answer.polls).toBeLessThanOrEqual(9);
	});

	it('never lets the server hold a poll longer than the time left', async () => {
		sim.seedConversation({
			conversationId: 'conv-slow',
			recordings: [{ recordingId: 'rec-s', media: 'screen', sizeBytes: 1024, transcodeMs: 60_000 }],
		});
		const started = Date.now();
		const answer = await clientFor(sim).waitForRecordings('conv-slow', { maxTotalWaitMs: 250, maxWaitMs: 5000, pollIntervalMs: 10 });
		expect(answer.state).toBe('transcoding');
		expect(Date.now() - started).toBeLessThan(1000);
		expect(sim.stats.accepted202).toBe(answer.polls);
	});
});

describe('GenesysClient: media and the SSRF guard', () => {
	it('streams a signed media URL from the simulator byte for byte', async () => {
		const client = clientFor(sim);
		const answer = await client.getRecordings('conv-ready');
		if (answer.state !== 'ready') throw new Error('not ready');
		const uri = answer.recordings.find((r) => r.id === 'rec-screen')!.mediaUris!['0'].mediaUri!;
		const media = await client.openMedia(uri);
		expect(media.contentType).toBe('video/webm');
		expect(media.contentLength).toBe(SCREEN_SIZE);
		const body = await readAll(media.stream);
		expect(body.length).toBe(SCREEN_SIZE);
		expect(createHash('sha256').update(body).digest('hex')).toBe(await syntheticSha256(SCREEN_SIZE, 's1'));
		expect(sim.stats.mediaRequests).toBe(1);
	});

	it('does not send the bearer token to the media host', async () => {
		const seen: IncomingHttpHeaders[] = [];
		const media: Server = createServer((req, res) => {
			seen.push(req.headers);
			res.writeHead(200, { 'content-type': 'video/webm', 'content-length': '3' });
			res.end('abc');
		});
		await new Promise<void>((resolve) => media.listen(0, '127.0.0.1', resolve));
		try {
			const client = clientFor(sim);
			await client.getOrganization();
			const port = (media.address() as AddressInfo).port;
			const opened = await client.openMedia(`http://127.0.0.1:${port}/file.webm?sig=1`);
			expect((await readAll(opened.stream)).toString()).toBe('abc');
			expect(seen).toHaveLength(1);
			expect(seen[0].authorization).toBeUndefined();
		} finally {
			media.closeAllConnections();
			await new Promise((resolve) => media.close(resolve));
		}
	});

	it('does not follow a redirect from an allowed media host to a host outside the allow-list', async () => {
		let internalHits = 0;
		const internal = createServer((_req, res) => {
			internalHits++;
			res.writeHead(200, { 'content-type': 'text/plain' });
			res.end('internal secret');
		});
		await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
		const internalPort = (internal.address() as AddressInfo).port;
		// 127.0.0.1 is the allowed media host of this credential; "localhost" is not.
		const bouncer = createServer((_req, res) => {
			res.writeHead(302, { location: `http://localhost:${internalPort}/latest/meta-data/` });
			res.end();
		});
		await new Promise<void>((resolve) => bouncer.listen(0, '127.0.0.1', resolve));
		try {
			const client = clientFor(sim);
			expect(() => client.assertAllowedMediaUrl(`http://localhost:${internalPort}/x`)).toThrow('is not allowed');
			const outcome = await client
				.openMedia(`http://127.0.0.1:${(bouncer.address() as AddressInfo).port}/media.webm`)
				.then(async (media) => (await readAll(media.stream)).toString())
				.catch((error: Error) => error);
			expect(outcome).toBeInstanceOf(Error);
			expect(internalHits).toBe(0);
		} finally {
			for (const server of [internal, bouncer]) {
				server.closeAllConnections();
				await new Promise((resolve) => server.close(resolve));
			}
		}
	});

	it('refuses media hosts outside the region and the allow-list, before any request', async () => {
		const client = clientFor(sim);
		await expect(client.openMedia('http://169.254.169.254/latest/meta-data/')).rejects.toThrow(
			'Media host "169.254.169.254" is not allowed for this credential (allowed: 127.0.0.1)',
		);
		await expect(client.openMedia('http://localhost:1/x')).rejects.toThrow('Media host "localhost" is not allowed');
		await expect(client.openMedia('not a url')).rejects.toThrow('Genesys Cloud returned a media URI that is not a valid URL');
		expect(sim.stats.mediaRequests).toBe(0);
	});

	it('allows only the region domain, AWS hosts and configured suffixes, on a label boundary', () => {
		const client = new GenesysClient({ region: 'us_east_1', clientId: 'c', clientSecret: 's', allowedMediaHosts: [' Media.Example.ORG ', ''] });
		for (const ok of [
			'https://api.mypurecloud.com/x',
			'https://mypurecloud.com/x',
			'https://prod-us-east-1-recordings.s3.amazonaws.com/a.webm?X-Amz-Signature=1',
			'https://MEDIA.example.org/a',
			'https://cdn.media.example.org:8443/a',
		]) {
			expect(() => client.assertAllowedMediaUrl(ok)).not.toThrow();
		}
		for (const bad of [
			'https://evilmypurecloud.com/x',
			'https://mypurecloud.com.evil.net/x',
			'https://api.mypurecloud.com@evil.net/x',
			'https://notamazonaws.com/x',
			'https://mypurecloud.ie/x',
			'https://example.org/x',
			'https://127.0.0.1/x',
		]) {
			expect(() => client.assertAllowedMediaUrl(bad)).toThrow(/is not allowed for this credential/);
		}
	});

	it('refuses http and other schemes unless the credential is marked as a local simulator', () => {
		const region = new GenesysClient({ region: 'eu_central_1', clientId: 'c', clientSecret: 's' });
		expect(() => region.assertAllowedMediaUrl('http://api.mypurecloud.de/x')).toThrow(
			'Refusing http:// URL: only https is allowed unless the credential is marked as a local simulator',
		);
		expect(() => region.assertAllowedMediaUrl('file:///etc/passwd')).toThrow('Refusing file:// URL');
		expect(() => region.assertAllowedMediaUrl('ftp://api.mypurecloud.de/x')).toThrow('Refusing ftp:// URL');
		expect(() => new GenesysClient({ ...credentialsFor(sim), allowInsecureHttp: false })).toThrow('Refusing http:// URL');
		expect(() =>
			new GenesysClient({ ...credentialsFor(sim), customLoginUrl: 'https://login.example' }).assertAllowedMediaUrl('file:///x'),
		).toThrow('Refusing file:// URL');
	});

	it('validates the credential', () => {
		expect(() => new GenesysClient({ region: 'us_east_1', clientId: '', clientSecret: 's' })).toThrow('Client ID is empty');
		expect(() => new GenesysClient({ region: 'us_east_1', clientId: 'c', clientSecret: '' })).toThrow('Client Secret is empty');
		expect(() => new GenesysClient({ region: 'mars_1', clientId: 'c', clientSecret: 's' })).toThrow('Unknown Genesys Cloud region "mars_1"');
		expect(() => new GenesysClient({ region: 'custom', clientId: 'c', clientSecret: 's' })).toThrow('Custom Base URL is required');
		const eu = new GenesysClient({ region: 'eu_west_1', clientId: 'c', clientSecret: 's' });
		expect(eu.endpoints).toEqual({
			apiBaseUrl: 'https://api.mypurecloud.ie',
			loginBaseUrl: 'https://login.mypurecloud.ie',
			mediaHostSuffixes: ['mypurecloud.ie', 'amazonaws.com'],
		});
	});
});
