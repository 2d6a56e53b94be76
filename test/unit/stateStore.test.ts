import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as ts from 'typescript';

import {
	cachedStateStorePaths,
	closeAllStateStores,
	defaultStatePath,
	openStateStore,
	SqliteStateStore,
} from '../../nodes/shared/state';
import type { RecordingRef } from '../../nodes/shared/recordingRef';

const ref: Partial<RecordingRef> = {
	source: 'genesys-cloud',
	conversationId: 'conv-1',
	recordingId: 'rec-1',
	stateKey: 'genesys-cloud:conv-1:rec-1',
	agent: { id: 'agent-7', name: 'Zoë Ångström' },
	mediaType: 'screen',
	startTime: '2025-03-01T10:00:00.000Z',
	skills: ['billing', 'retention'],
	platformFlags: { sensitiveData: false },
};

const recording = {
	stateKey: 'genesys-cloud:conv-1:rec-1',
	source: 'genesys-cloud',
	conversationId: 'conv-1',
	recordingId: 'rec-1',
	stage: 'discovered' as const,
	ref,
};

let dir: string;
const stores: SqliteStateStore[] = [];

function openDirect(path = join(dir, 'state.sqlite')): SqliteStateStore {
	const store = new SqliteStateStore(path);
	stores.push(store);
	return store;
}

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'cx-state-'));
});

afterEach(async () => {
	await Promise.all(stores.splice(0).map((store) => store.close()));
	await closeAllStateStores();
	await rm(dir, { recursive: true, force: true });
});

describe('SQLite state store', () => {
	it('applies migrations once and keeps data when reopened', async () => {
		const path = join(dir, 'nested', 'deeper', 'state.sqlite');
		const first = openDirect(path);
		expect(existsSync(path)).toBe(true);
		expect(first.appliedMigrations()).toEqual([1]);
		await first.upsertRecording(recording);
		await first.close();

		const second = openDirect(path);
		expect(second.appliedMigrations()).toEqual([1]);
		expect((await second.getRecording(recording.stateKey))?.version).toBe(1);
		await second.close();

		const third = openDirect(path);
		expect(third.appliedMigrations()).toEqual([1]);
	});

	it('applies a later migration to an existing file, in one transaction', async () => {
		const path = join(dir, 'state.sqlite');
		await openDirect(path).close();
		const broken = {
			version: 2,
			name: 'fails halfway',
			statements: ['CREATE TABLE half_done (id INTEGER)', 'THIS IS NOT SQL'],
		};
		const { SQLITE_MIGRATIONS } = await import('../../nodes/shared/state/schema');
		expect(
			() => new SqliteStateStore(path, { migrations: [...SQLITE_MIGRATIONS, broken] }),
		).toThrow();
		// The failed step left neither its table nor its version behind.
		const store = new SqliteStateStore(path, {
			migrations: [
				...SQLITE_MIGRATIONS,
				{ version: 2, name: 'works', statements: ['CREATE TABLE half_done (id INTEGER)'] },
			],
		});
		stores.push(store);
		expect(store.appliedMigrations()).toEqual([1, 2]);
	});

	it('upsert creates a row once and then returns the existing row unchanged', async () => {
		const store = openDirect();
		const created = await store.upsertRecording(recording);
		expect(created).toMatchObject({
			stateKey: recording.stateKey,
			source: 'genesys-cloud',
			conversationId: 'conv-1',
			recordingId: 'rec-1',
			stage: 'discovered',
			lmsAssetId: null,
			version: 1,
		});
		expect(created.ref).toEqual(ref);
		expect(Number.isNaN(Date.parse(created.updatedAt))).toBe(false);

		const again = await store.upsertRecording({
			...recording,
			stage: 'staged',
			ref: { wrapupCode: 'x' },
		});
		expect(again).toEqual(created);
		expect(await store.getRecording('genesys-cloud:conv-1:missing')).toBeUndefined();
	});

	it('compare-and-swap update applies once; a stale version is refused', async () => {
		const store = openDirect();
		const created = await store.upsertRecording(recording);

		const staged = await store.updateRecording(recording.stateKey, created.version, {
			stage: 'staged',
			ref: { ...ref, durationSec: 42 },
		});
		expect(staged).toMatchObject({ stage: 'staged', version: 2, lmsAssetId: null });
		expect(staged?.ref.durationSec).toBe(42);

		const stale = await store.updateRecording(recording.stateKey, created.version, {
			stage: 'failed',
		});
		expect(stale).toBeUndefined();
		expect(await store.getRecording(recording.stateKey)).toEqual(staged);

		// Fields left out of the patch keep their values; null clears the asset id.
		const pushed = await store.updateRecording(recording.stateKey, 2, { lmsAssetId: 'asset-9' });
		expect(pushed).toMatchObject({ stage: 'staged', lmsAssetId: 'asset-9', version: 3 });
		expect(pushed?.ref).toEqual(staged?.ref);
		const cleared = await store.updateRecording(recording.stateKey, 3, { lmsAssetId: null });
		expect(cleared).toMatchObject({ lmsAssetId: null, version: 4 });

		expect(
			await store.updateRecording('genesys-cloud:none:none', 1, { stage: 'staged' }),
		).toBeUndefined();
	});

	it('only one of two concurrent compare-and-swap updates from two connections wins', async () => {
		const path = join(dir, 'state.sqlite');
		const a = openDirect(path);
		const b = openDirect(path);
		await a.upsertRecording(recording);
		const results = await Promise.all([
			a.updateRecording(recording.stateKey, 1, { stage: 'staging' }),
			b.updateRecording(recording.stateKey, 1, { stage: 'failed' }),
		]);
		expect(results.filter((row) => row !== undefined)).toHaveLength(1);
		expect((await b.getRecording(recording.stateKey))?.version).toBe(2);
	});

	it('claims an idempotency key once', async () => {
		const store = openDirect();
		expect(await store.hasIdempotencyKey('lms:push:asset-1')).toBe(false);
		expect(await store.claimIdempotencyKey('lms:push:asset-1', 'lms-push')).toBe(true);
		expect(await store.claimIdempotencyKey('lms:push:asset-1', 'lms-push')).toBe(false);
		expect(await store.claimIdempotencyKey('lms:push:asset-1', 'other-scope')).toBe(false);
		expect(await store.hasIdempotencyKey('lms:push:asset-1')).toBe(true);
	});

	it('two stores on the same file racing for one claim: exactly one wins', async () => {
		const path = join(dir, 'state.sqlite');
		const a = openDirect(path);
		const b = openDirect(path);
		for (let round = 0; round < 50; round++) {
			const key = `assign:agent-1:module-${round}:2025-W10`;
			const [first, second] = await Promise.all([
				a.claimIdempotencyKey(key, 'assign'),
				b.claimIdempotencyKey(key, 'assign'),
			]);
			expect([first, second].filter(Boolean)).toHaveLength(1);
		}
	});

	it('two processes racing for the same claims: each claim is won exactly once', async () => {
		const path = join(dir, 'state.sqlite');
		const buildDir = join(dir, 'build');
		await compileStateModules(buildDir);
		const goFile = join(dir, 'go');
		const claims = 2000;
		// Both children spin until the same wall-clock instant so their claim loops overlap; the loser of each
		// lock collision waits on busy_timeout instead of failing with SQLITE_BUSY.
		const script = `
			const { existsSync, readFileSync } = require('node:fs');
			const { SqliteStateStore } = require(${JSON.stringify(join(buildDir, 'sqlite.js'))});
			const store = new SqliteStateStore(${JSON.stringify(path)}, { busyTimeoutMs: 20000 });
			process.stdout.write('ready\\n');
			const timer = setInterval(async () => {
				if (!existsSync(${JSON.stringify(goFile)})) return;
				clearInterval(timer);
				const startAt = Number(readFileSync(${JSON.stringify(goFile)}, 'utf8'));
				while (Date.now() < startAt) {}
				const won = [];
				for (let i = 0; i < ${claims}; i++) {
					if (await store.claimIdempotencyKey('claim-' + i, 'race')) won.push(i);
				}
				await store.close();
				process.stdout.write(JSON.stringify(won) + '\\n');
			}, 2);
		`;
		const children = [0, 1].map(() => runNode(script));
		await Promise.all(children.map((child) => child.ready));
		await writeFile(goFile, String(Date.now() + 100));
		const outputs = await Promise.all(children.map((child) => child.done));
		const won = outputs.map(
			(output) => JSON.parse(output.trim().split('\n').pop() ?? '[]') as number[],
		);
		expect(won[0].length + won[1].length).toBe(claims);
		expect(new Set([...won[0], ...won[1]]).size).toBe(claims);

		const store = openDirect(path);
		expect(await store.hasIdempotencyKey(`claim-${claims - 1}`)).toBe(true);
	}, 60000);

	it('adds, lists and marks dead letters replayed', async () => {
		const store = openDirect();
		const first = await store.addDeadLetter({
			stateKey: recording.stateKey,
			node: 'LMS Push',
			error: 'HTTP 503 from LMS',
			payload: { attempt: 3, ref },
		});
		const second = await store.addDeadLetter({
			node: 'Media Probe',
			error: 'ffprobe exited 1',
			payload: null,
		});
		const third = await store.addDeadLetter({
			node: 'PII Scan',
			error: 'timeout',
			payload: ['a', 1],
		});
		expect(second).toBeGreaterThan(first);

		const pending = await store.listDeadLetters();
		expect(pending.map((entry) => entry.id)).toEqual([first, second, third]);
		expect(pending[0]).toMatchObject({
			id: first,
			stateKey: recording.stateKey,
			node: 'LMS Push',
			error: 'HTTP 503 from LMS',
			payload: { attempt: 3, ref },
			replayedAt: null,
		});
		expect(pending[1]).toMatchObject({ stateKey: null, payload: null });

		await store.markDeadLetterReplayed(second);
		expect((await store.listDeadLetters()).map((entry) => entry.id)).toEqual([first, third]);
		const all = await store.listDeadLetters({ includeReplayed: true });
		expect(all.map((entry) => entry.id)).toEqual([first, second, third]);
		expect(all[1].replayedAt).not.toBeNull();
		expect((await store.listDeadLetters({ limit: 1 })).map((entry) => entry.id)).toEqual([first]);
		await expect(store.markDeadLetterReplayed(9999)).rejects.toThrow(
			'Dead letter 9999 does not exist',
		);
	});

	it('stores a dead letter whose payload is not plain JSON', async () => {
		const store = openDirect();
		const payload: Record<string, unknown> = { size: BigInt(10) ** BigInt(20) };
		payload.self = payload;
		const id = await store.addDeadLetter({ node: 'Stage', error: 'boom', payload });
		const [entry] = await store.listDeadLetters();
		expect(entry.id).toBe(id);
		expect(entry.payload).toEqual({ size: '100000000000000000000', self: '[Circular]' });
	});

	it('round-trips JSON of refs and payloads', async () => {
		const store = openDirect();
		const rich: Partial<RecordingRef> = {
			...ref,
			object: {
				bucket: 'b',
				key: 'recordings/genesys-cloud/conv-1/rec-1/original.webm',
				size: 123456789,
				sha256: 'ab'.repeat(32),
				contentType: 'video/webm',
			},
			pii: {
				verdict: 'found',
				findings: [{ type: 'card-number', atSec: 12.5, box: [1, 2, 3, 4], confidence: 0.97 }],
			},
			taxonomy: {
				tags: ['"quoted"', 'emoji 🎧', 'line\nbreak'],
				visibility: 'private',
				remedialModuleIds: [],
			},
		};
		await store.upsertRecording({ ...recording, ref: rich });
		expect((await store.getRecording(recording.stateKey))?.ref).toEqual(rich);
		const payload = { nested: { list: [1, 2.5, -3, null, true, 'ü'] }, empty: {} };
		await store.addDeadLetter({ node: 'n', error: 'e', payload });
		expect((await store.listDeadLetters())[0].payload).toEqual(payload);
	});

	it('a closed store refuses further calls', async () => {
		const store = openDirect();
		await store.close();
		await store.close();
		await expect(store.getRecording('x')).rejects.toThrow('is closed');
	});
});

describe('openStateStore', () => {
	it('reuses one connection per file within a process', async () => {
		const path = join(dir, 'a', 'state.sqlite');
		const first = await openStateStore({ driver: 'sqlite', path });
		const second = await openStateStore({
			driver: 'sqlite',
			path: join(dir, 'a', '..', 'a', 'state.sqlite'),
		});
		expect(first.driver).toBe('sqlite');
		expect(cachedStateStorePaths()).toEqual([path]);

		await first.upsertRecording(recording);
		// Closing one execution's handle leaves the shared connection to the others.
		await first.close();
		await expect(first.getRecording(recording.stateKey)).rejects.toThrow('closed');
		expect((await second.getRecording(recording.stateKey))?.stage).toBe('discovered');

		await closeAllStateStores();
		expect(cachedStateStorePaths()).toEqual([]);
		const reopened = await openStateStore({ driver: 'sqlite', path });
		expect((await reopened.getRecording(recording.stateKey))?.version).toBe(1);
	});

	it('refuses the PostgreSQL driver clearly, without echoing the password', async () => {
		const opening = openStateStore({ driver: 'postgres', host: 'db', password: 'hunter2-secret' });
		await expect(opening).rejects.toThrow(/PostgreSQL state store is not implemented yet/);
		await expect(opening).rejects.not.toThrow(/hunter2/);
	});

	it('puts the default file in the n8n user folder', () => {
		expect(defaultStatePath('/home/node')).toBe('/home/node/.n8n/cx-training/state.sqlite');
	});
});

/** Transpiles the SQLite store so plain `node` child processes can load it. */
async function compileStateModules(outDir: string): Promise<void> {
	const { mkdir } = await import('node:fs/promises');
	await mkdir(outDir, { recursive: true });
	const sourceDir = join(__dirname, '..', '..', 'nodes', 'shared', 'state');
	for (const name of ['sqlite', 'schema']) {
		const source = await readFile(join(sourceDir, `${name}.ts`), 'utf8');
		const output = ts.transpileModule(source, {
			compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
		});
		await writeFile(join(outDir, `${name}.js`), output.outputText);
	}
}

function runNode(script: string): { ready: Promise<void>; done: Promise<string> } {
	const child = spawn(process.execPath, ['--no-warnings', '-e', script], {
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	let signalReady: () => void = () => undefined;
	const ready = new Promise<void>((resolve) => {
		signalReady = resolve;
	});
	child.stdout.on('data', (chunk: Buffer) => {
		stdout += chunk.toString();
		if (stdout.includes('ready\n')) signalReady();
	});
	child.stderr.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	const done = new Promise<string>((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code) => {
			if (code === 0) resolve(stdout);
			else reject(new Error(`child exited ${code}: ${stderr}`));
		});
	});
	// A child that dies before "ready" must fail the test instead of hanging it.
	done.catch(() => signalReady());
	return { ready, done };
}
