import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

import { HttpError, stripQuery, TransportError } from '../../nodes/shared/transport/errors';
import { buildUrl, HttpClient, parseRetryAfter } from '../../nodes/shared/transport/http';
import { sharedBucket, TokenBucket } from '../../nodes/shared/transport/rateLimit';
import { rejection } from '../support/genesys';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

interface SeenRequest {
	method: string;
	url: string;
	headers: IncomingMessage['headers'];
	body: string;
	at: number;
}

/** A loopback server that answers each request with the next queued handler (the last one repeats). */
class TestServer {
	readonly seen: SeenRequest[] = [];
	private handlers: Handler[] = [];
	private server!: Server;
	baseUrl = '';

	async start(): Promise<void> {
		this.server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (chunk: Buffer) => chunks.push(chunk));
			req.on('end', () => {
				const body = Buffer.concat(chunks);
				this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString(), at: Date.now() });
				const handler = this.handlers.length > 1 ? this.handlers.shift()! : this.handlers[0];
				if (!handler) {
					res.writeHead(500).end('no handler');
					return;
				}
				handler(req, res, body);
			});
		});
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	reply(...handlers: Handler[]): void {
		this.handlers = handlers;
		this.seen.length = 0;
	}

	async stop(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}

const json =
	(status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
	(_req, res) => {
		res.writeHead(status, { 'content-type': 'application/json', ...headers });
		res.end(body === undefined ? '' : JSON.stringify(body));
	};
const drop: Handler = (req) => req.socket.destroy();

const FAST = { baseDelayMs: 5, maxDelayMs: 20 };


async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

const server = new TestServer();

beforeAll(async () => {
	await server.start();
});

afterAll(async () => {
	await server.stop();
});

afterEach(() => {
	jest.restoreAllMocks();
});

describe('HttpClient: retries', () => {
	it('retries 503, 502 and 500 and returns the first success', async () => {
		server.reply(json(503, { message: 'down' }), json(502, undefined), json(500, 'x'), json(200, { ok: 1 }));
		const client = new HttpClient({ retry: FAST });
		const response = await client.request<{ ok: number }>({ method: 'GET', url: `${server.baseUrl}/thing` });
		expect(response.status).toBe(200);
		expect(response.body).toEqual({ ok: 1 });
		expect(server.seen).toHaveLength(4);
	});

	it('stops after maxAttempts with an HttpError that names method, status, the URL without its query, and the vendor message', async () => {
		server.reply(json(503, { message: 'Service Unavailable - overloaded', code: 'service.unavailable' }));
		const client = new HttpClient({ retry: { ...FAST, maxAttempts: 3 } });
		const error = (await rejection(
			client.request({ method: 'GET', url: `${server.baseUrl}/media/x.webm?X-Amz-Signature=SECRET` }),
		)) as HttpError;
		expect(server.seen).toHaveLength(3);
		expect(error).toBeInstanceOf(HttpError);
		expect(error.status).toBe(503);
		expect(error.url).toBe(`${server.baseUrl}/media/x.webm`);
		expect(error.message).toBe(`GET ${server.baseUrl}/media/x.webm failed with HTTP 503: Service Unavailable - overloaded`);
		expect(error.message).not.toContain('SECRET');
		expect(error.vendorCode).toBe('service.unavailable');
	});

	it('does not retry a 400, 401, 403 or 404', async () => {
		const client = new HttpClient({ retry: FAST });
		for (const status of [400, 401, 403, 404]) {
			server.reply(json(status, { error: 'invalid_client', error_description: 'authentication failed' }));
			const error = (await rejection(client.request({ method: 'POST', url: `${server.baseUrl}/oauth/token`, body: 'a=b' }))) as HttpError;
			expect(error.status).toBe(status);
			expect(error.vendorCode).toBe('invalid_client');
			expect(error.message).toMatch(new RegExp(`HTTP ${status}: authentication failed$`));
			expect(server.seen).toHaveLength(1);
		}
	});

	it('retries a dropped connection and then a 408, then gives up with a TransportError after maxAttempts drops', async () => {
		server.reply(drop, json(408, undefined), json(200, { ok: true }));
		const client = new HttpClient({ retry: FAST });
		expect((await client.request({ method: 'GET', url: `${server.baseUrl}/a` })).body).toEqual({ ok: true });
		expect(server.seen).toHaveLength(3);

		server.reply(drop);
		const error = await rejection(client.request({ method: 'GET', url: `${server.baseUrl}/b?token=SECRET` }));
		expect(error).toBeInstanceOf(TransportError);
		expect(error.message).toMatch(new RegExp(`^GET ${server.baseUrl}/b failed after 4 attempts: `));
		expect(error.message).not.toContain('SECRET');
		expect((error as TransportError).url).toBe(`${server.baseUrl}/b`);
		expect(server.seen).toHaveLength(4);
	});

	it('returns statuses listed in acceptStatus instead of throwing or retrying them', async () => {
		const client = new HttpClient({ retry: FAST });
		server.reply(json(404, { message: 'No document found' }));
		const absent = await client.request({ method: 'GET', url: `${server.baseUrl}/doc`, acceptStatus: [404] });
		expect(absent.status).toBe(404);
		expect(absent.body).toEqual({ message: 'No document found' });
		expect(server.seen).toHaveLength(1);

		server.reply((_req, res) => res.writeHead(202).end());
		const pending = await client.request({ method: 'GET', url: `${server.baseUrl}/recordings`, acceptStatus: [202] });
		expect(pending).toMatchObject({ status: 202, body: undefined });

		server.reply(json(503, {}), json(200, { late: true }));
		const accepted503 = await client.request({ method: 'GET', url: `${server.baseUrl}/x`, acceptStatus: [503] });
		expect(accepted503.status).toBe(503);
		expect(server.seen).toHaveLength(1);
	});

	it('uses full-jitter exponential backoff between cap/2 and cap, capped by maxDelayMs', () => {
		const client = new HttpClient({ retry: { baseDelayMs: 100, maxDelayMs: 1000 } });
		const random = jest.spyOn(Math, 'random');
		random.mockReturnValue(0);
		expect([1, 2, 3, 4, 5, 9].map((attempt) => client.backoff(attempt))).toEqual([50, 100, 200, 400, 500, 500]);
		random.mockReturnValue(0.999999);
		expect([1, 2, 3, 4, 5, 9].map((attempt) => client.backoff(attempt))).toEqual([99, 199, 399, 799, 999, 999]);
	});

	it('really waits the jittered backoff between attempts', async () => {
		jest.spyOn(Math, 'random').mockReturnValue(0);
		server.reply(json(500, undefined), json(500, undefined), json(200, {}));
		const client = new HttpClient({ retry: { baseDelayMs: 120, maxDelayMs: 1000 } });
		await client.request({ method: 'GET', url: `${server.baseUrl}/x` });
		const gaps = server.seen.slice(1).map((entry, i) => entry.at - server.seen[i].at);
		// random() = 0 → attempt 1 waits 60 ms, attempt 2 waits 120 ms.
		expect(gaps[0]).toBeGreaterThanOrEqual(55);
		expect(gaps[0]).toBeLessThan(200);
		expect(gaps[1]).toBeGreaterThanOrEqual(115);
		expect(gaps[1]).toBeLessThan(400);
	});
});

describe('HttpClient: Retry-After', () => {
	it('parses delta-seconds and HTTP dates', () => {
		const now = Date.parse('2025-03-04T10:00:00.000Z');
		expect(parseRetryAfter('7', now)).toBe(7000);
		expect(parseRetryAfter(' 0 ', now)).toBe(0);
		expect(parseRetryAfter('Tue, 04 Mar 2025 10:00:30 GMT', now)).toBe(30000);
		expect(parseRetryAfter('Tue, 04 Mar 2025 09:59:00 GMT', now)).toBe(0);
		expect(parseRetryAfter(null, now)).toBeUndefined();
		expect(parseRetryAfter('', now)).toBeUndefined();
		expect(parseRetryAfter('soon', now)).toBeUndefined();
	});

	it('waits the Retry-After seconds of a 429 instead of the backoff', async () => {
		server.reply(json(429, { message: 'slow down' }, { 'retry-after': '1' }), json(200, { ok: 1 }));
		const client = new HttpClient({ retry: FAST });
		const response = await client.request({ method: 'GET', url: `${server.baseUrl}/x` });
		expect(response.status).toBe(200);
		expect(server.seen).toHaveLength(2);
		const gap = server.seen[1].at - server.seen[0].at;
		expect(gap).toBeGreaterThanOrEqual(950);
		expect(gap).toBeLessThan(2000);
	});

	it('waits until a Retry-After HTTP date on a 503', async () => {
		// HTTP dates have one-second resolution: ask for the start of the second after next.
		const target = (Math.floor(Date.now() / 1000) + 2) * 1000;
		server.reply(json(503, {}, { 'retry-after': new Date(target).toUTCString() }), json(200, {}));
		const client = new HttpClient({ retry: FAST });
		await client.request({ method: 'GET', url: `${server.baseUrl}/x` });
		expect(server.seen).toHaveLength(2);
		expect(server.seen[1].at).toBeGreaterThanOrEqual(target - 20);
		expect(server.seen[1].at).toBeLessThan(target + 700);
	});

	it('gives up at once when Retry-After is longer than maxRetryAfterMs, keeping the wait on the error', async () => {
		server.reply(json(429, { message: 'Rate limit exceeded' }, { 'retry-after': '120' }), json(200, {}));
		const client = new HttpClient({ retry: { ...FAST, maxRetryAfterMs: 60000 } });
		const started = Date.now();
		const error = (await rejection(client.request({ method: 'GET', url: `${server.baseUrl}/api?x=1` }))) as HttpError;
		expect(Date.now() - started).toBeLessThan(1000);
		expect(server.seen).toHaveLength(1);
		expect(error).toBeInstanceOf(HttpError);
		expect(error.status).toBe(429);
		expect(error.retryAfterMs).toBe(120000);
		expect(error.message).toBe(`GET ${server.baseUrl}/api asked to retry after 120 s, longer than the 60 s allowed`);
	});

	it('pauses the shared token bucket for the Retry-After of a 429', async () => {
		const bucket = new TokenBucket(6000);
		const pause = jest.spyOn(bucket, 'pauseUntil');
		server.reply(json(429, {}, { 'retry-after': '0' }), json(200, {}));
		const client = new HttpClient({ retry: FAST, bucket });
		const before = Date.now();
		await client.request({ method: 'GET', url: `${server.baseUrl}/x` });
		expect(pause).toHaveBeenCalledTimes(1);
		expect(pause.mock.calls[0][0]).toBeGreaterThanOrEqual(before);
		expect(pause.mock.calls[0][0]).toBeLessThanOrEqual(Date.now());
		expect(server.seen).toHaveLength(2);
	});

	it('does not freeze the shared bucket for an absurd Retry-After it refuses to wait for', async () => {
		const bucket = new TokenBucket(6000);
		server.reply(json(429, {}, { 'retry-after': '3600' }), json(200, {}));
		const client = new HttpClient({ retry: { ...FAST, maxRetryAfterMs: 60000 }, bucket });
		await rejection(client.request({ method: 'GET', url: `${server.baseUrl}/x` }));
		const started = Date.now();
		await client.request({ method: 'GET', url: `${server.baseUrl}/x` });
		expect(Date.now() - started).toBeLessThan(1000);
		expect(server.seen).toHaveLength(2);
	});
});

describe('HttpClient: requests and bodies', () => {
	it('sends JSON bodies with a content type, forms and strings as they are, and the query without undefined values', async () => {
		server.reply(json(200, { ok: true }));
		const seenResponses: number[] = [];
		const client = new HttpClient({ retry: FAST, userAgent: 'cx-test/1', onResponse: (r) => seenResponses.push(r.status) });
		await client.request({
			method: 'PUT',
			url: `${server.baseUrl}/statements`,
			query: { statementId: 'a b', limit: 5, ascending: false, skip: undefined },
			body: { id: 1 },
		});
		await client.request({ method: 'POST', url: `${server.baseUrl}/oauth/token`, body: new URLSearchParams({ grant_type: 'client_credentials' }) });
		await client.request({ method: 'POST', url: `${server.baseUrl}/raw`, body: 'plain', headers: { 'Content-Type': 'text/plain' } });
		const [put, form, raw] = server.seen;
		expect(put.url).toBe('/statements?statementId=a+b&limit=5&ascending=false');
		expect(put.headers['content-type']).toBe('application/json');
		expect(put.headers['user-agent']).toBe('cx-test/1');
		expect(put.headers.accept).toBe('application/json');
		expect(put.body).toBe('{"id":1}');
		expect(form.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
		expect(form.body).toBe('grant_type=client_credentials');
		expect(raw.headers['content-type']).toBe('text/plain');
		expect(raw.body).toBe('plain');
		expect(seenResponses).toEqual([200, 200, 200]);
	});

	it('reads json, text and none response types', async () => {
		const client = new HttpClient({ retry: FAST });
		server.reply((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('not json'));
		expect((await client.request({ method: 'GET', url: `${server.baseUrl}/t` })).body).toBe('not json');
		server.reply(json(200, { a: 1 }));
		expect((await client.request({ method: 'GET', url: `${server.baseUrl}/t`, responseType: 'text' })).body).toBe('{"a":1}');
		expect((await client.request({ method: 'GET', url: `${server.baseUrl}/t`, responseType: 'none' })).body).toBeUndefined();
		server.reply((_req, res) => res.writeHead(204).end());
		expect((await client.request({ method: 'PUT', url: `${server.baseUrl}/t` })).body).toBeUndefined();
	});

	it('builds URLs and strips queries', () => {
		expect(buildUrl('https://h/p?x=1', { y: 2, z: undefined })).toBe('https://h/p?x=1&y=2');
		expect(buildUrl('https://h/p')).toBe('https://h/p');
		expect(stripQuery('https://h/p?X-Amz-Signature=s')).toBe('https://h/p');
	});
});

describe('HttpClient: timeouts', () => {
	it('fails with a TransportError when headers do not arrive within timeoutMs, after retrying', async () => {
		server.reply((_req, res) => setTimeout(() => res.writeHead(200).end('{}'), 400));
		const client = new HttpClient({ retry: { ...FAST, maxAttempts: 2 } });
		const started = Date.now();
		const error = await rejection(client.request({ method: 'GET', url: `${server.baseUrl}/slow`, timeoutMs: 80 }));
		expect(error).toBeInstanceOf(TransportError);
		expect(error.message).toBe(`GET ${server.baseUrl}/slow failed after 2 attempts: no answer within 80 ms`);
		expect(server.seen).toHaveLength(2);
		expect(Date.now() - started).toBeLessThan(400);
	});

	it('lets a stream body take longer than timeoutMs once the headers are in', async () => {
		const size = 6 * 16384;
		server.reply((_req, res) => {
			res.writeHead(200, { 'content-type': 'video/webm', 'content-length': String(size) });
			let sent = 0;
			const tick = setInterval(() => {
				res.write(Buffer.alloc(16384, sent / 16384));
				sent += 16384;
				if (sent >= size) {
					clearInterval(tick);
					res.end();
				}
			}, 50);
		});
		const client = new HttpClient({ retry: FAST });
		const started = Date.now();
		const response = await client.request<Readable>({ method: 'GET', url: `${server.baseUrl}/media`, responseType: 'stream', timeoutMs: 100 });
		expect(response.headers.get('content-type')).toBe('video/webm');
		const body = await readAll(response.body);
		expect(Date.now() - started).toBeGreaterThanOrEqual(250);
		expect(body.length).toBe(size);
		expect(body[5 * 16384]).toBe(5);
		expect(server.seen).toHaveLength(1);
	});

	it('still applies timeoutMs to the headers of a stream request', async () => {
		server.reply((_req, res) => setTimeout(() => res.writeHead(200).end('late'), 400));
		const client = new HttpClient({ retry: { ...FAST, maxAttempts: 1 } });
		const error = await rejection(client.request({ method: 'GET', url: `${server.baseUrl}/media`, responseType: 'stream', timeoutMs: 80 }));
		expect(error).toBeInstanceOf(TransportError);
		expect(error.message).toContain('no answer within 80 ms');
	});

	it('bounds the error body of a non-stream request by timeoutMs', async () => {
		server.reply((_req, res) => {
			res.writeHead(503, { 'content-type': 'application/json' });
			res.write('{"message":');
		});
		const client = new HttpClient({ retry: { ...FAST, maxAttempts: 1 } });
		const error = (await rejection(client.request({ method: 'GET', url: `${server.baseUrl}/x`, timeoutMs: 100 }))) as HttpError;
		expect(error).toBeInstanceOf(HttpError);
		expect(error.status).toBe(503);
	});

	it('bounds the error body of a stream request by timeoutMs', async () => {
		server.reply((_req, res) => {
			res.writeHead(403, { 'content-type': 'application/xml' });
			res.write('<Error><Code>AccessDenied</Code>');
		});
		const client = new HttpClient({ retry: { ...FAST, maxAttempts: 1 } });
		const outcome = await Promise.race([
			client.request({ method: 'GET', url: `${server.baseUrl}/media`, responseType: 'stream', timeoutMs: 100 }).then(
				() => 'resolved',
				(error: Error) => error,
			),
			new Promise((resolve) => setTimeout(() => resolve('still waiting after 1 s'), 1000)),
		]);
		expect(outcome).toBeInstanceOf(HttpError);
		expect((outcome as HttpError).status).toBe(403);
	});

	it('stops retrying at once when the caller aborts', async () => {
		server.reply(json(503, {}));
		const client = new HttpClient({ retry: { baseDelayMs: 5000, maxDelayMs: 5000 } });
		const controller = new AbortController();
		const started = Date.now();
		setTimeout(() => controller.abort(), 100);
		await expect(client.request({ method: 'GET', url: `${server.baseUrl}/x`, signal: controller.signal })).rejects.toThrow();
		expect(Date.now() - started).toBeLessThan(1500);
		expect(server.seen).toHaveLength(1);
	});
});

describe('TokenBucket', () => {
	it('starts with a burst of perMinute/6 and refills at perMinute', async () => {
		let now = 1_000_000;
		const bucket = new TokenBucket(60, undefined, () => now);
		// burst = ceil(60/6) = 10 tokens, taken without waiting.
		for (let i = 0; i < 10; i++) await bucket.take();
		const reserve = () => (bucket as unknown as { reserve(): number }).reserve();
		expect(reserve()).toBe(1000);
		now += 500;
		expect(reserve()).toBe(500);
		now += 500;
		expect(reserve()).toBe(0);
		now += 60_000;
		// Refill never exceeds the burst.
		for (let i = 0; i < 10; i++) expect(reserve()).toBe(0);
		expect(reserve()).toBe(1000);
	});

	it('holds every taker until pauseUntil, and keeps the later of two pauses', () => {
		let now = 5_000;
		const bucket = new TokenBucket(600, 5, () => now);
		const reserve = () => (bucket as unknown as { reserve(): number }).reserve();
		bucket.pauseUntil(7_000);
		bucket.pauseUntil(6_000);
		expect(reserve()).toBe(2000);
		now = 7_000;
		expect(reserve()).toBe(0);
	});

	it('really delays a take() when empty', async () => {
		const bucket = new TokenBucket(600, 1);
		await bucket.take();
		const started = Date.now();
		await bucket.take();
		expect(Date.now() - started).toBeGreaterThanOrEqual(90);
	});

	it('shares one bucket per key and replaces it when the rate changes', () => {
		const a = sharedBucket('transport-test|k1', 300);
		expect(sharedBucket('transport-test|k1', 300)).toBe(a);
		expect(sharedBucket('transport-test|k2', 300)).not.toBe(a);
		const b = sharedBucket('transport-test|k1', 120);
		expect(b).not.toBe(a);
		expect(b.perMinute).toBe(120);
	});
});
