import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { Client } from 'pg';

/**
 * A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, a server listening only on
 * 127.0.0.1 at a free port (its unix socket inside that folder), trust authentication, removed on stop().
 *
 * initdb and postgres refuse to run as root; as root the cluster belongs to the `postgres` account (else
 * `nobody`) and the binaries run under that uid. The binaries come from CX_TEST_PG_BIN, else the newest
 * /usr/lib/postgresql/<version>/bin (Debian's postgresql-<version> package), else initdb on the PATH.
 */
export interface PostgresCluster {
	host: string;
	port: number;
	user: string;
	database: string;
	/** The server's version string, e.g. "PostgreSQL 15.18 …". */
	version: string;
	stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

export function findPostgresBinaries(): string {
	const candidates: string[] = [];
	const debianRoot = '/usr/lib/postgresql';
	// An explicit folder is the only one tried: a wrong setting must not silently test another server.
	if (process.env.CX_TEST_PG_BIN) candidates.push(process.env.CX_TEST_PG_BIN);
	else if (existsSync(debianRoot)) {
		const versions = readdirSync(debianRoot)
			.filter((name) => /^\d+(\.\d+)?$/.test(name))
			.sort((a, b) => Number(b) - Number(a));
		candidates.push(...versions.map((version) => join(debianRoot, version, 'bin')));
	}
	if (!process.env.CX_TEST_PG_BIN) candidates.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
	const found = candidates.find(
		(dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
	);
	if (!found) {
		throw new Error(
			'PostgreSQL server binaries (initdb, postgres) were not found: install them ' +
				'(Debian: apt-get install postgresql) or point CX_TEST_PG_BIN at their folder. ' +
				`Looked in: ${candidates.join(', ')}`,
		);
	}
	return found;
}

/** uid/gid of an account that may run PostgreSQL when this process is root; undefined otherwise. */
function serverAccount(): { uid: number; gid: number; name: string } | undefined {
	if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
	const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
	for (const name of ['postgres', 'nobody']) {
		const line = passwd.find((entry) => entry.startsWith(`${name}:`));
		if (!line) continue;
		const [, , uid, gid] = line.split(':');
		if (Number(uid) !== 0) return { uid: Number(uid), gid: Number(gid), name };
	}
	throw new Error('Running as root, and neither a "postgres" nor a "nobody" account exists to run PostgreSQL');
}

/** A port nobody listens on at the moment (the OS picks it); shared by the throwaway servers of the tests. */
export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => {
				if (address && typeof address === 'object') resolve(address.port);
				else reject(new Error('No port assigned'));
			});
		});
	});
}

function run(
	command: string,
	args: string[],
	account: { uid: number; gid: number } | undefined,
): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, {
			stdio: ['ignore', 'pipe', 'pipe'],
			env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
			...(account ? { uid: account.uid, gid: account.gid } : {}),
		});
		let output = '';
		child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
		child.on('error', reject);
		child.on('close', (code) => {
			if (code === 0) resolve(output);
			else reject(new Error(`${command} exited with ${code}:\n${output}`));
		});
	});
}

async function waitUntilReady(
	connection: { host: string; port: number; user: string; database: string },
	server: ChildProcess,
	logFile: string,
): Promise<string> {
	const deadline = Date.now() + 30000;
	let lastError: unknown;
	while (Date.now() < deadline) {
		if (server.exitCode !== null || server.signalCode !== null) {
			throw new Error(`postgres exited (${server.exitCode ?? server.signalCode}):\n${readLog(logFile)}`);
		}
		const client = new Client({ ...connection, connectionTimeoutMillis: 2000 });
		try {
			await client.connect();
			const result = await client.query<{ version: string }>('SELECT version() AS version');
			return result.rows[0].version;
		} catch (error) {
			lastError = error;
			await new Promise((resolve) => setTimeout(resolve, 100));
		} finally {
			await client.end().catch(() => undefined);
		}
	}
	throw new Error(`postgres did not accept connections within 30 s (${String(lastError)}):\n${readLog(logFile)}`);
}

function readLog(logFile: string): string {
	try {
		return readFileSync(logFile, 'utf8').slice(-4000);
	} catch {
		return '(no server log)';
	}
}

export async function startPostgres(): Promise<PostgresCluster> {
	const bin = findPostgresBinaries();
	const account = serverAccount();
	const root = mkdtempSync(join(tmpdir(), 'cx-pg-'));
	const dataDir = join(root, 'data');
	const logFile = join(root, 'server.log');
	let server: ChildProcess | undefined;
	const removeRoot = () => rmSync(root, { recursive: true, force: true });
	const onExit = () => {
		// The test process is going away without stop(): take the server down with it.
		if (server?.pid && server.exitCode === null) {
			try {
				process.kill(server.pid, 'SIGQUIT');
			} catch {
				// already gone
			}
		}
	};
	try {
		if (account) chownSync(root, account.uid, account.gid);
		await run(
			join(bin, 'initdb'),
			['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
			account,
		);
		let version = '';
		for (let attempt = 1; ; attempt++) {
			const port = await freePort();
			const log = openSync(logFile, 'a');
			if (account) chownSync(logFile, account.uid, account.gid);
			server = spawn(
				join(bin, 'postgres'),
				[
					'-D',
					dataDir,
					'-k',
					root,
					'-h',
					'127.0.0.1',
					'-p',
					String(port),
					'-c',
					'fsync=off',
					'-c',
					'synchronous_commit=off',
					'-c',
					'full_page_writes=off',
					'-c',
					'max_connections=100',
				],
				{
					stdio: ['ignore', log, log],
					env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
					...(account ? { uid: account.uid, gid: account.gid } : {}),
				},
			);
			closeSync(log);
			const exited = new Promise<void>((resolve) => server?.once('exit', () => resolve()));
			const connection = { host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres' };
			try {
				version = await waitUntilReady(connection, server, logFile);
			} catch (error) {
				server.kill('SIGKILL');
				await exited;
				// Another process may have taken the port between the probe and the bind: try another one.
				if (attempt < 3 && /could not bind|Address already in use/i.test(readLog(logFile))) continue;
				throw error;
			}
			process.once('exit', onExit);
			const running = server;
			let stopped: Promise<void> | undefined;
			return {
				...connection,
				version,
				stop: () =>
					(stopped ??= (async () => {
						process.removeListener('exit', onExit);
						if (running.exitCode === null && running.signalCode === null) {
							// SIGINT: fast shutdown (disconnect clients, no checkpoint wait worth mentioning).
							running.kill('SIGINT');
							const timer = setTimeout(() => running.kill('SIGKILL'), 10000);
							await exited;
							clearTimeout(timer);
						}
						removeRoot();
					})()),
			};
		}
	} catch (error) {
		onExit();
		removeRoot();
		throw error;
	}
}
