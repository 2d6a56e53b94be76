import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { main } from '../simulators/cli';
import {
	startGenesysSimulator,
	type GenesysSimulator,
	type SimConversation,
} from '../simulators/genesysCloud';
import { syntheticMediaStream, syntheticSha256, WEBM_PREFIX } from '../simulators/syntheticMedia';

const SCREEN_SIZE = 3 * 1024 * 1024 + 17;
const AGENT = {
	id: 'a1b2c3d4-0000-4000-8000-000000000001',
	name: 'Ada Agent',
	email: 'ada@example.com',
};

function conversation(id: string, overrides: Partial<SimConversation> = {}): SimConversation {
	return {
		conversationId: id,
		startTime: '2025-03-04T10:00:00.000Z',
		endTime: '2025-03-04T10:07:30.000Z',
		queueId: 'queue-billing',
		wrapupCode: 'wrapup-resolved',
		participants: [{ purpose: 'agent', userId: AGENT.id, participantId: 'participant-agent-1' }],
		recordings: [
			{ recordingId: `${id}-screen`, media: 'screen', users: [AGENT], sizeBytes: SCREEN_SIZE },
			{
				recordingId: `${id}-audio`,
				media: 'audio',
				mediaSubtype: 'Trunk',
				sizeBytes: 4096,
				annotations: [{ location: 60_000, durationMs: 20_000, reason: 'Hold' }],
			},
		],
		...overrides,
	};
}

async function token(sim: GenesysSimulator): Promise<string> {
	const response = await fetch(`${sim.loginUrl}/oauth/token`, {
		method: 'POST',
		headers: {
			Authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`,
			'Content-Type': 'application/x-www-form-urlencoded',
		},
		body: 'grant_type=client_credentials',
	});
	expect(response.status).toBe(200);
	return ((await response.json()) as { access_token: string }).access_token;
}

function api(sim: GenesysSimulator, bearer: string, path: string, init: RequestInit = {}) {
	return fetch(`${sim.baseUrl}${path}`, {
		...init,
		headers: { Authorization: `Bearer ${bearer}`, ...(init.headers ?? {}) },
	});
}

async function sha256Of(response: Response): Promise<{ hex: string; bytes: number }> {
	const hash = createHash('sha256');
	let bytes = 0;
	for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
		hash.update(chunk);
		bytes += chunk.length;
	}
	return { hex: hash.digest('hex'), bytes };
}

interface Recording {
	id: string;
	media: string;
	mediaSubtype: string;
	fileState: string;
	mediaUris?: Record<string, { mediaUri: string }>;
	users: Array<{ id: string; email?: string }>;
	annotations: Array<{ reason?: string; durationMs: number }>;
	outputSizeInBytes: number;
	recordingFileRole: string;
}

describe('Genesys Cloud simulator', () => {
	let sim: GenesysSimulator;
	let bearer: string;

	beforeAll(async () => {
		sim = await startGenesysSimulator({ transcode202Count: 0 });
		sim.seedConversation(conversation('conv-1'));
		bearer = await token(sim);
	});
	afterAll(() => sim.close());

	describe('OAuth client credentials', () => {
		it('rejects an unknown client, a wrong secret and a missing grant type', async () => {
			const post = (user: string, body: string) =>
				fetch(`${sim.loginUrl}/oauth/token`, {
					method: 'POST',
					headers: {
						Authorization: `Basic ${Buffer.from(user).toString('base64')}`,
						'Content-Type': 'application/x-www-form-urlencoded',
					},
					body,
				});
			const unknown = await post('nobody:x', 'grant_type=client_credentials');
			expect(unknown.status).toBe(401);
			expect(await unknown.json()).toEqual({
				error: 'invalid_client',
				description: 'client not found',
				error_description: 'client not found',
			});
			const wrongSecret = await post('sim-client:nope', 'grant_type=client_credentials');
			expect(wrongSecret.status).toBe(401);
			expect(((await wrongSecret.json()) as { error: string }).error).toBe('invalid_client');
			const noGrant = await post('sim-client:sim-secret', '');
			expect(noGrant.status).toBe(400);
			expect(((await noGrant.json()) as { error: string }).error).toBe('unsupported_grant_type');
		});

		it('issues a bearer token that the API accepts, with correlation and rate-limit headers', async () => {
			const response = await fetch(`${sim.loginUrl}/oauth/token`, {
				method: 'POST',
				headers: {
					Authorization: `Basic ${Buffer.from('sim-client:sim-secret').toString('base64')}`,
					'Content-Type': 'application/x-www-form-urlencoded',
				},
				body: 'grant_type=client_credentials',
			});
			const body = (await response.json()) as Record<string, unknown>;
			expect(body).toMatchObject({ token_type: 'bearer', expires_in: 86400 });
			const org = await api(sim, body.access_token as string, '/api/v2/organizations/me');
			expect(org.status).toBe(200);
			expect(await org.json()).toMatchObject({
				id: sim.orgId,
				defaultLanguage: 'en-us',
				state: 'active',
				selfUri: `/api/v2/organizations/${sim.orgId}`,
			});
			expect(org.headers.get('inin-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
			expect(org.headers.get('inin-ratelimit-count')).toBe('1');
			expect(org.headers.get('inin-ratelimit-allowed')).toBe('300');
			expect(Number(org.headers.get('inin-ratelimit-reset'))).toBeGreaterThan(0);
		});

		it('answers 401 ErrorBody without a token, with a bad token and after expiry', async () => {
			const none = await fetch(`${sim.baseUrl}/api/v2/organizations/me`);
			expect(none.status).toBe(401);
			const noneBody = (await none.json()) as Record<string, unknown>;
			expect(noneBody).toMatchObject({
				code: 'bad.credentials',
				status: 401,
				details: [],
				errors: [],
			});
			expect(noneBody.contextId).toBe(none.headers.get('inin-correlation-id'));
			expect((await api(sim, 'forged', '/api/v2/organizations/me')).status).toBe(401);

			const shortLived = await startGenesysSimulator({ tokenTtlSec: 60 });
			try {
				const t = await token(shortLived);
				expect((await api(shortLived, t, '/api/v2/organizations/me')).status).toBe(200);
				shortLived.advanceTime(61_000);
				const expired = await api(shortLived, t, '/api/v2/organizations/me');
				expect(expired.status).toBe(401);
				expect(((await expired.json()) as { code: string }).code).toBe('bad.credentials');
			} finally {
				await shortLived.close();
			}
		});
	});

	describe('recordings', () => {
		it('lists metadata without media URIs and 404s unknown conversations', async () => {
			const response = await api(sim, bearer, '/api/v2/conversations/conv-1/recordingmetadata');
			expect(response.status).toBe(200);
			const metadata = (await response.json()) as Array<Record<string, unknown>>;
			expect(metadata.map((m) => [m.id, m.media, m.mediaSubtype, m.fileState])).toEqual([
				['conv-1-screen', 'screen', 'Screen', 'AVAILABLE'],
				['conv-1-audio', 'audio', 'Trunk', 'AVAILABLE'],
			]);
			expect(metadata[0]).not.toHaveProperty('mediaUris');
			expect(metadata[0]).toMatchObject({
				conversationId: 'conv-1',
				startTime: '2025-03-04T10:00:00.000Z',
				endTime: '2025-03-04T10:07:30.000Z',
			});
			const missing = await api(sim, bearer, '/api/v2/conversations/nope/recordingmetadata');
			expect(missing.status).toBe(404);
			expect(((await missing.json()) as { code: string }).code).toBe('not.found');

			sim.seedConversation({ conversationId: 'conv-empty', recordings: [] });
			const empty = await api(sim, bearer, '/api/v2/conversations/conv-empty/recordingmetadata');
			expect(await empty.json()).toEqual([]);
		});

		it('returns Recording objects with fresh signed WEBM URIs and skips media for non-playable states', async () => {
			sim.seedConversation(
				conversation('conv-states', {
					recordings: [
						{ recordingId: 'r-up', media: 'screen', fileState: 'UPLOADING' },
						{ recordingId: 'r-arch', media: 'screen', fileState: 'ARCHIVED' },
						{ recordingId: 'r-ok', media: 'screen', users: [AGENT], sizeBytes: 1000 },
					],
				}),
			);
			const read = async () => {
				const response = await api(
					sim,
					bearer,
					'/api/v2/conversations/conv-states/recordings?maxWaitMs=0&formatId=WEBM',
				);
				expect(response.status).toBe(200);
				return (await response.json()) as Recording[];
			};
			const first = await read();
			expect(first.map((r) => [r.id, r.fileState, !!r.mediaUris])).toEqual([
				['r-up', 'UPLOADING', false],
				['r-arch', 'ARCHIVED', false],
				['r-ok', 'AVAILABLE', true],
			]);
			const uri = new URL(first[2].mediaUris!['0'].mediaUri);
			expect(uri.pathname).toBe('/media/conv-states/r-ok.webm');
			expect(uri.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
			expect(uri.searchParams.get('X-Amz-Expires')).toBe('3600');
			expect(first[2]).toMatchObject({
				users: [{ id: AGENT.id, email: AGENT.email }],
				outputSizeInBytes: 1000,
				recordingFileRole: 'CUSTOMER_EXPERIENCE',
			});
			const second = await read();
			expect(second[2].mediaUris!['0'].mediaUri).not.toBe(first[2].mediaUris!['0'].mediaUri);

			const audio = await api(
				sim,
				bearer,
				'/api/v2/conversations/conv-1/recordings/conv-1-audio?formatId=OGG_OPUS&maxWaitMs=0',
			);
			const audioRecording = (await audio.json()) as Recording;
			expect(new URL(audioRecording.mediaUris!['0'].mediaUri).pathname).toBe(
				'/media/conv-1/conv-1-audio.opus',
			);
			expect(audioRecording.annotations).toEqual([
				expect.objectContaining({ reason: 'Hold', durationMs: 20_000 }),
			]);
			const unknown = await api(sim, bearer, '/api/v2/conversations/conv-1/recordings/zzz');
			expect(unknown.status).toBe(404);
		});

		it('answers 202 with an empty body a fixed number of times before the 200', async () => {
			const counted = await startGenesysSimulator({ transcode202Count: 2 });
			try {
				counted.seedConversation(conversation('conv-c'));
				const t = await token(counted);
				const statuses: number[] = [];
				for (let i = 0; i < 3; i++) {
					const response = await api(
						counted,
						t,
						'/api/v2/conversations/conv-c/recordings?maxWaitMs=5000',
					);
					statuses.push(response.status);
					const text = await response.text();
					if (response.status === 202) expect(text).toBe('');
					else expect(JSON.parse(text)).toHaveLength(2);
				}
				expect(statuses).toEqual([202, 202, 200]);
				expect(counted.stats.accepted202).toBe(2);
				expect(counted.stats.recordingListCalls).toBe(3);
			} finally {
				await counted.close();
			}
		});

		it('holds a request up to maxWaitMs while transcoding and then answers 200', async () => {
			const timed = await startGenesysSimulator({ transcodeMs: 400 });
			try {
				timed.seedConversation(conversation('conv-t'));
				const t = await token(timed);
				const path = '/api/v2/conversations/conv-t/recordings/conv-t-screen';
				const quick = await api(timed, t, `${path}?maxWaitMs=0`);
				expect(quick.status).toBe(202);
				expect(await quick.text()).toBe('');
				const started = Date.now();
				const held = await api(timed, t, `${path}?maxWaitMs=3000`);
				const elapsed = Date.now() - started;
				expect(held.status).toBe(200);
				expect(elapsed).toBeGreaterThanOrEqual(250);
				expect(elapsed).toBeLessThan(2500);
				expect(((await held.json()) as Recording).mediaUris?.['0'].mediaUri).toContain(
					'/media/conv-t/',
				);
			} finally {
				await timed.close();
			}
		});
	});

	describe('media', () => {
		let mediaUri: string;

		beforeAll(async () => {
			const response = await api(
				sim,
				bearer,
				'/api/v2/conversations/conv-1/recordings/conv-1-screen?formatId=WEBM&maxWaitMs=0',
			);
			mediaUri = ((await response.json()) as Recording).mediaUris!['0'].mediaUri;
		});

		it('serves the deterministic synthetic body with a WebM header and a stable SHA-256', async () => {
			const expected = await syntheticSha256(SCREEN_SIZE);
			expect(await syntheticSha256(SCREEN_SIZE)).toBe(expected);
			expect(await syntheticSha256(SCREEN_SIZE, 'other')).not.toBe(expected);
			const head = await fetch(mediaUri, { method: 'HEAD' });
			expect(head.status).toBe(200);
			expect(head.headers.get('content-type')).toBe('video/webm');
			expect(head.headers.get('content-length')).toBe(String(SCREEN_SIZE));
			expect(head.headers.get('accept-ranges')).toBe('bytes');
			const before = sim.stats.mediaBytesServed;
			const response = await fetch(mediaUri);
			expect(response.status).toBe(200);
			const { hex, bytes } = await sha256Of(response);
			expect(bytes).toBe(SCREEN_SIZE);
			expect(hex).toBe(expected);
			expect(sim.stats.mediaBytesServed - before).toBe(SCREEN_SIZE);

			const firstBytes = await fetch(mediaUri, { headers: { Range: 'bytes=0-3' } });
			expect(Buffer.from(await firstBytes.arrayBuffer())).toEqual(
				Buffer.from([0x1a, 0x45, 0xdf, 0xa3]),
			);
		});

		it('resumes with Range after a dropped connection and reassembles the same bytes', async () => {
			sim.setFault({ path: '/media/**', dropAfterBytes: 1_000_000 });
			const parts: Buffer[] = [];
			let failed = false;
			try {
				const response = await fetch(mediaUri);
				expect(response.status).toBe(200);
				for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
					parts.push(Buffer.from(chunk));
				}
			} catch {
				failed = true;
			}
			expect(failed).toBe(true);
			const received = parts.reduce((sum, part) => sum + part.length, 0);
			expect(received).toBeLessThanOrEqual(1_000_000);

			const rest = await fetch(mediaUri, { headers: { Range: `bytes=${received}-` } });
			expect(rest.status).toBe(206);
			expect(rest.headers.get('content-range')).toBe(
				`bytes ${received}-${SCREEN_SIZE - 1}/${SCREEN_SIZE}`,
			);
			expect(rest.headers.get('content-length')).toBe(String(SCREEN_SIZE - received));
			const hash = createHash('sha256');
			for (const part of parts) hash.update(part);
			for await (const chunk of rest.body as unknown as AsyncIterable<Uint8Array>)
				hash.update(chunk);
			expect(hash.digest('hex')).toBe(await syntheticSha256(SCREEN_SIZE));

			const beyond = await fetch(mediaUri, { headers: { Range: `bytes=${SCREEN_SIZE}-` } });
			expect(beyond.status).toBe(416);
			expect(beyond.headers.get('content-range')).toBe(`bytes */${SCREEN_SIZE}`);
		});

		it('expires signed URLs with an S3 AccessDenied and rejects tampered signatures', async () => {
			const fresh = sim.signMediaUrl('conv-1', 'conv-1-screen');
			const tampered = new URL(fresh);
			tampered.searchParams.set('X-Amz-Expires', '999999');
			const bad = await fetch(tampered);
			expect(bad.status).toBe(403);
			expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>');

			expect((await fetch(fresh, { method: 'HEAD' })).status).toBe(200);
			sim.advanceTime(3601_000);
			try {
				const expired = await fetch(fresh);
				expect(expired.status).toBe(403);
				expect(expired.headers.get('content-type')).toBe('application/xml');
				const xml = await expired.text();
				expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
				expect(xml).toContain('<Code>AccessDenied</Code><Message>Request has expired</Message>');
				// Reading the recording again yields a newly signed URL that works.
				const renewed = await api(
					sim,
					bearer,
					'/api/v2/conversations/conv-1/recordings/conv-1-screen?maxWaitMs=0',
				);
				const renewedUri = ((await renewed.json()) as Recording).mediaUris!['0'].mediaUri;
				expect(renewedUri).not.toBe(fresh);
				expect((await fetch(renewedUri, { method: 'HEAD' })).status).toBe(200);
			} finally {
				sim.advanceTime(-3601_000);
			}
		});

		it('serves a file from disk when the seed names one', async () => {
			const dir = mkdtempSync(join(tmpdir(), 'genesys-sim-'));
			try {
				const filePath = join(dir, 'screen.webm');
				const content = Buffer.concat([WEBM_PREFIX, Buffer.from('file-backed body')]);
				writeFileSync(filePath, content);
				sim.seedConversation({
					conversationId: 'conv-file',
					recordings: [{ recordingId: 'r-file', media: 'screen', filePath }],
				});
				const response = await api(
					sim,
					bearer,
					'/api/v2/conversations/conv-file/recordings?maxWaitMs=0',
				);
				const [recording] = (await response.json()) as Recording[];
				expect(recording.outputSizeInBytes).toBe(content.length);
				const media = await fetch(recording.mediaUris!['0'].mediaUri, {
					headers: { Range: 'bytes=48-' },
				});
				expect(media.status).toBe(206);
				expect(await media.text()).toBe('file-backed body');
			} finally {
				rmSync(dir, { recursive: true, force: true });
			}
		});

		it('generates arbitrary ranges of the synthetic stream consistently', async () => {
			const whole: Buffer[] = [];
			for await (const chunk of syntheticMediaStream(100_000, { seed: 's' }))
				whole.push(chunk as Buffer);
			const slice: Buffer[] = [];
			for await (const chunk of syntheticMediaStream(100_000, {
				seed: 's',
				start: 33,
				end: 70_001,
			})) {
				slice.push(chunk as Buffer);
			}
			const expected = Buffer.concat(whole).subarray(33, 70_002);
			expect(Buffer.concat(slice).equals(expected)).toBe(true);
			expect(expected.length).toBe(69_969);
		});
	});

	describe('rate limits and faults', () => {
		it('answers 429 past the per-token limit with an integer Retry-After', async () => {
			const limited = await startGenesysSimulator({ rateLimitPerMinute: 3 });
			try {
				const t = await token(limited);
				const statuses: number[] = [];
				let last: Response | undefined;
				for (let i = 0; i < 4; i++) {
					last = await api(limited, t, '/api/v2/organizations/me');
					statuses.push(last.status);
				}
				expect(statuses).toEqual([200, 200, 200, 429]);
				expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
				expect(await last!.json()).toMatchObject({
					code: 'too.many.requests',
					status: 429,
					message: 'Rate limit exceeded the maximum [3] requests within [60] seconds',
				});
				limited.advanceTime(60_000);
				expect((await api(limited, t, '/api/v2/organizations/me')).status).toBe(200);
			} finally {
				await limited.close();
			}
		});

		it('injects 429 with and without Retry-After, 503 and dropped connections for a path pattern', async () => {
			const path = '/api/v2/conversations/conv-1/recordingmetadata';
			sim.setFault({
				path: '/api/v2/conversations/*/recordingmetadata',
				status: 429,
				retryAfterSec: 7,
			});
			sim.setFault({ path, status: 429, retryAfterSec: null });
			sim.setFault({ path, status: 503 });
			sim.setFault({ path, drop: true });
			const first = await api(sim, bearer, path);
			expect(first.status).toBe(429);
			expect(first.headers.get('retry-after')).toBe('7');
			expect(((await first.json()) as { code: string }).code).toBe('too.many.requests');
			const second = await api(sim, bearer, path);
			expect(second.status).toBe(429);
			expect(second.headers.get('retry-after')).toBeNull();
			await second.text();
			const third = await api(sim, bearer, path);
			expect(third.status).toBe(503);
			expect(((await third.json()) as { code: string }).code).toBe('service.unavailable');
			await expect(api(sim, bearer, path)).rejects.toThrow();
			expect((await api(sim, bearer, path)).status).toBe(200);
			expect(sim.stats.byPath[`GET ${path}`]).toBeGreaterThanOrEqual(5);
		});
	});

	describe('conversation-end events', () => {
		let receiver: Server;
		let receiverUrl: string;
		const received: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown> }> = [];

		beforeAll(async () => {
			receiver = createServer((req, res) => {
				const chunks: Buffer[] = [];
				req.on('data', (chunk: Buffer) => chunks.push(chunk));
				req.on('end', () => {
					received.push({
						headers: req.headers,
						body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
					});
					res.writeHead(req.headers['x-webhook-secret'] === 'expected' ? 200 : 401, {
						'Content-Type': 'application/json',
					});
					res.end('{"ok":true}');
				});
			});
			await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
			receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
		});
		afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

		it('posts an EventBridge envelope whose detail-type keeps the literal {id}', async () => {
			const result = await sim.emitConversationEnd({
				webhookUrl: receiverUrl,
				conversationId: 'conv-1',
				shape: 'eventbridge',
				headers: { 'x-webhook-secret': 'expected' },
			});
			expect(result).toMatchObject({ status: 200, body: '{"ok":true}' });
			const { body } = received[received.length - 1];
			expect(body).toMatchObject({
				version: '0',
				'detail-type': 'v2.detail.events.conversation.{id}.user.end',
				source: `aws.partner/genesys.com/cloud/${sim.orgId}/cx-training`,
				region: 'us-east-1',
				resources: [],
			});
			expect(body.account).toMatch(/^\d{12}$/);
			const detail = body.detail as Record<string, unknown>;
			expect(detail).toMatchObject({
				topicName: 'v2.detail.events.conversation.conv-1.user.end',
				version: '2',
			});
			expect((detail.metadata as { CorrelationId: string }).CorrelationId).toMatch(
				/^[0-9a-f-]{36}$/,
			);
			expect(detail.eventBody).toMatchObject({
				eventTime: Date.parse('2025-03-04T10:07:30.000Z'),
				conversationId: 'conv-1',
				participantId: 'participant-agent-1',
				userId: AGENT.id,
				queueId: 'queue-billing',
				mediaType: 'VOICE',
				direction: 'INBOUND',
				heldDurationMs: 20_000,
			});
			expect(Number.isInteger((detail.eventBody as { eventTime: number }).eventTime)).toBe(true);
		});

		it('posts the bare ACW eventBody with the wrap-up code and reports the receiver status', async () => {
			const result = await sim.emitConversationEnd({
				webhookUrl: receiverUrl,
				conversationId: 'conv-1',
				shape: 'eventBody',
				topic: 'acw',
			});
			expect(result.status).toBe(401);
			const { body, headers } = received[received.length - 1];
			expect(headers['content-type']).toBe('application/json');
			expect(body).toMatchObject({
				conversationId: 'conv-1',
				userId: AGENT.id,
				wrapupCode: 'wrapup-resolved',
				wrapupDurationMs: expect.any(Number),
			});
			expect(body).not.toHaveProperty('detail');
			expect(body).not.toHaveProperty('disconnectType');
		});

		it('is reachable through the control API, like the seeding', async () => {
			const seed = await fetch(`${sim.baseUrl}/__sim/conversations`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json' },
				body: JSON.stringify(conversation('conv-ctl')),
			});
			expect(seed.status).toBe(201);
			const emit = await fetch(`${sim.baseUrl}/__sim/emit`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json' },
				body: JSON.stringify({
					webhookUrl: receiverUrl,
					conversationId: 'conv-ctl',
					shape: 'eventBody',
					headers: { 'x-webhook-secret': 'expected' },
				}),
			});
			expect(await emit.json()).toMatchObject({ status: 200 });
			expect(received[received.length - 1].body).toMatchObject({ conversationId: 'conv-ctl' });
			const stats = (await (await fetch(`${sim.baseUrl}/__sim/stats`)).json()) as {
				eventsEmitted: number;
			};
			expect(stats.eventsEmitted).toBeGreaterThanOrEqual(3);
		});
	});

	it('starts from the command line and prints one JSON line', async () => {
		const lines: string[] = [];
		const running = await main(['genesys', '--port', '0', '--client-id', 'cli-id'], (line) =>
			lines.push(line),
		);
		try {
			expect(lines).toHaveLength(1);
			const info = JSON.parse(lines[0]) as { baseUrl: string; tokenUrl: string; clientId: string };
			expect(info.clientId).toBe('cli-id');
			expect(info.tokenUrl).toBe(`${info.baseUrl}/oauth/token`);
			const response = await fetch(info.tokenUrl, {
				method: 'POST',
				headers: {
					Authorization: `Basic ${Buffer.from('cli-id:sim-secret').toString('base64')}`,
					'Content-Type': 'application/x-www-form-urlencoded',
				},
				body: 'grant_type=client_credentials',
			});
			expect(response.status).toBe(200);
		} finally {
			await running.close();
		}
	});
});
