import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { freePort } from './postgres';

/**
 * A throwaway Redis server for n8n's queue mode: listening only on 127.0.0.1 at a free port, no persistence,
 * its working folder removed on stop(). The binary comes from CX_TEST_REDIS_SERVER, else `redis-server` on the
 * PATH or in /usr/bin (Debian: apt-get install redis-server).
 */
export interface RedisServer {
	host: string;
	port: number;
	version: string;
	stop(): Promise<void>;
}

export function findRedisServer(): string {
	if (process.env.CX_TEST_REDIS_SERVER) {
		// An explicit binary is the only one tried: a wrong setting must not silently test another server.
		if (existsSync(process.env.CX_TEST_REDIS_SERVER)) return process.env.CX_TEST_REDIS_SERVER;
		throw new Error(`CX_TEST_REDIS_SERVER points at ${process.env.CX_TEST_REDIS_SERVER}, which does not exist`);
	}
	const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
	const found = folders.map((dir) => join(dir, 'redis-server')).find((file) => existsSync(file));
	if (!found) {
		throw new Error(
			'redis-server was not found: install it (Debian: apt-get install redis-server) or point ' +
				`CX_TEST_REDIS_SERVER at the binary. Looked in: ${folders.join(', ')}`,
		);
	}
	return found;
}

/** One RESP command over a fresh connection; resolves with the raw reply. */
function command(port: number, words: string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = createConnection({ host: '127.0.0.1', port });
		let reply = '';
		socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
		socket.on('error', reject);
		socket.on('data', (chunk) => {
			reply += chunk.toString('utf8');
			// A simple-string, error or complete bulk-string reply.
			const bulk = /^\$(\d+)\r\n/.exec(reply);
			if (/^[+-].*\r\n$/s.test(reply) || (bulk && reply.length >= bulk[0].length + Number(bulk[1]) + 2)) {
				socket.end();
				resolve(reply);
			}
		});
		socket.on('connect', () => {
			socket.write(`*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join('')}`);
		});
	});
}

export async function startRedis(): Promise<RedisServer> {
	const binary = findRedisServer();
	const dir = mkdtempSync(join(tmpdir(), 'cx-redis-'));
	const port = await freePort();
	const server: ChildProcess = spawn(
		binary,
		['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', join(dir, 'redis.log')],
		{ stdio: 'ignore' },
	);
	const onExit = () => server.kill('SIGKILL');
	process.once('exit', onExit);
	const log = () => {
		try {
			return readFileSync(join(dir, 'redis.log'), 'utf8').slice(-2000);
		} catch {
			return '(no log)';
		}
	};
	const deadline = Date.now() + 15000;
	let version = '';
	for (;;) {
		if (server.exitCode !== null) throw new Error(`redis-server exited with ${server.exitCode}:\n${log()}`);
		try {
			if ((await command(port, ['PING'])).startsWith('+PONG')) {
				version = /redis_version:([^\r\n]+)/.exec(await command(port, ['INFO', 'server']))?.[1] ?? '';
				break;
			}
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) {
			server.kill('SIGKILL');
			throw new Error(`redis-server did not answer PING within 15 s:\n${log()}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return {
		host: '127.0.0.1',
		port,
		version,
		async stop() {
			process.removeListener('exit', onExit);
			if (server.exitCode === null) {
				const exited = new Promise((resolve) => server.once('exit', resolve));
				server.kill('SIGTERM');
				await exited;
			}
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
