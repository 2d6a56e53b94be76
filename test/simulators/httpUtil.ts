import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

export class BodyTooLargeError extends Error {}

export async function readBody(
	req: IncomingMessage,
	limitBytes = 16 * 1024 * 1024,
): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let total = 0;
	for await (const chunk of req) {
		total += (chunk as Buffer).length;
		if (total > limitBytes) throw new BodyTooLargeError(`body exceeds ${limitBytes} bytes`);
		chunks.push(chunk as Buffer);
	}
	return Buffer.concat(chunks);
}

export function sendJson(
	res: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {},
	headOnly = false,
): void {
	if (res.destroyed || res.headersSent) return;
	const payload = Buffer.from(JSON.stringify(body));
	res.writeHead(status, {
		...headers,
		'Content-Type': 'application/json; charset=utf-8',
		'Content-Length': String(payload.length),
	});
	res.end(headOnly ? undefined : payload);
}

export function sendEmpty(
	res: ServerResponse,
	status: number,
	headers: Record<string, string> = {},
): void {
	if (res.destroyed || res.headersSent) return;
	res.writeHead(status, { ...headers, 'Content-Length': '0' });
	res.end();
}

// `string` patterns match the whole path; `*` matches within one segment, `**` across segments,
// e.g. '/api/v2/conversations/*/recordings' or '/media/**'.
export function pathMatcher(pattern: string | RegExp): (path: string) => boolean {
	if (pattern instanceof RegExp) return (path) => pattern.test(path);
	const source = pattern
		.split('**')
		.map((part) =>
			part
				.split('*')
				.map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
				.join('[^/]*'),
		)
		.join('.*');
	const regex = new RegExp(`^${source}$`);
	return (path) => regex.test(path);
}

function waitForDrainOrClose(res: ServerResponse): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			res.off('drain', done);
			res.off('close', done);
			resolve();
		};
		res.on('drain', done);
		res.on('close', done);
	});
}

/**
 * Pipes `source` into `res` honouring backpressure. With `dropAfterBytes` the socket is destroyed
 * once that many body bytes were written, the way a proxy reset looks to a downloading client.
 */
export async function streamBody(
	res: ServerResponse,
	source: Readable,
	onBytes: (count: number) => void,
	dropAfterBytes?: number,
): Promise<void> {
	let written = 0;
	try {
		for await (const raw of source) {
			if (res.destroyed) return;
			let chunk = raw as Buffer;
			if (dropAfterBytes !== undefined && written + chunk.length >= dropAfterBytes) {
				chunk = chunk.subarray(0, Math.max(0, dropAfterBytes - written));
				onBytes(chunk.length);
				await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
				res.socket?.destroy();
				return;
			}
			written += chunk.length;
			onBytes(chunk.length);
			if (!res.write(chunk)) await waitForDrainOrClose(res);
		}
		if (!res.destroyed) res.end();
	} finally {
		source.destroy();
	}
}

export async function listen(server: Server, host: string, port: number): Promise<number> {
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	return (server.address() as AddressInfo).port;
}

export async function closeServer(server: Server): Promise<void> {
	await new Promise<void>((resolve) => {
		server.close(() => resolve());
		// Keep-alive sockets (fetch pools them) would hold close() open indefinitely.
		server.closeAllConnections();
	});
}

export function httpDate(ms: number): string {
	return new Date(ms).toUTCString();
}

/**
 * Largest number of requests whose arrival times fall in any window of `windowMs` (sliding, not
 * aligned to clock boundaries): the peak rate a client really produced.
 */
export function maxRequestsInWindow(log: ReadonlyArray<{ at: number }>, windowMs: number): number {
	if (windowMs <= 0) throw new Error('windowMs must be positive');
	const times = log.map((entry) => entry.at).sort((a, b) => a - b);
	let best = 0;
	let start = 0;
	for (let end = 0; end < times.length; end++) {
		while (times[end] - times[start] >= windowMs) start++;
		best = Math.max(best, end - start + 1);
	}
	return best;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
