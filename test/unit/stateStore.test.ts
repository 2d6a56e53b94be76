import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	cachedStateStorePaths,
	closeAllStateStores,
	defaultStatePath,
	openStateStore,
	SqliteStateStore,
} from '../../nodes/shared/state';
import { SQLITE_MIGRATIONS } from '../../nodes/shared/state/schema';
import { spawnClaimWorker, type AssignmentResult } from '../support/claimWorker';
import { describeStateStoreBehaviour, recording } from '../support/stateStoreSuite';

let dir: string;
let fileCounter = 0;
let currentPath = '';
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

describeStateStoreBehaviour('SQLite', {
	fresh: async () => {
		currentPath = join(dir, `suite-${++fileCounter}.sqlite`);
		return openDirect(currentPath);
	},
	// A second connection to the same file, as another n8n process would hold.
	peer: async () => openDirect(currentPath),
});

describe('SQLite state store', () => {
	it('applies migrations once and keeps data when reopened', async () => {
		const path = join(dir, 'nested', 'deeper', 'state.sqlite');
		const first = openDirect(path);
		expect(existsSync(path)).toBe(true);
		expect(first.appliedMigrations()).toEqual([1, 2]);
		await first.upsertRecording(recording);
		await first.close();

		const second = openDirect(path);
		expect(second.appliedMigrations()).toEqual([1, 2]);
		expect((await second.getRecording(recording.stateKey))?.version).toBe(1);
		await second.close();

		const third = openDirect(path);
		expect(third.appliedMigrations()).toEqual([1, 2]);
	});

	it('applies a later migration to an existing file, in one transaction', async () => {
		const path = join(dir, 'state.sqlite');
		await openDirect(path).close();
		const broken = {
			version: 3,
			name: 'fails halfway',
			statements: ['CREATE TABLE half_done (id INTEGER)', 'THIS IS NOT SQL'],
		};
		expect(() => new SqliteStateStore(path, { migrations: [...SQLITE_MIGRATIONS, broken] })).toThrow();
		// The failed step left neither its table nor its version behind.
		const store = new SqliteStateStore(path, {
			migrations: [
				...SQLITE_MIGRATIONS,
				{ version: 3, name: 'works', statements: ['CREATE TABLE half_done (id INTEGER)'] },
			],
		});
		stores.push(store);
		expect(store.appliedMigrations()).toEqual([1, 2, 3]);
	});

	it('migration 2 upgrades a file written by migration 1 and keeps its rows usable', async () => {
		const path = join(dir, 'state.sqlite');
		const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
		const old = new SqliteStateStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 1) });
		expect(old.appliedMigrations()).toEqual([1]);
		await old.close();
		const raw = new DatabaseSync(path);
		raw.exec(`INSERT INTO evaluations (evaluation_id, state_key, conversation_id, agent_id, payload_json, received_at)
			VALUES ('ev-old', NULL, 'conv-1', 'agent-7', '{"totalScore":40}', '2025-03-01T00:00:00.000Z')`);
		raw.exec(`INSERT INTO assignments (claim_key, agent_id, module_id, window_start, evaluation_id, status, created_at)
			VALUES ('k-old', 'agent-7', 'module-a', '2025-03-01T00:00:00.000Z', 'ev-old', 'claimed', '2025-03-10T00:00:00.000Z')`);
		raw.close();

		const store = openDirect(path);
		expect(store.appliedMigrations()).toEqual([1, 2]);
		expect(await store.getEvaluation('ev-old')).toMatchObject({ revision: '', source: '', evaluatedAt: null });
		// Any real revision is newer than the empty one of a row written before revisions existed.
		expect((await store.putEvaluation({
			evaluationId: 'ev-old',
			source: 'genesys-cloud',
			conversationId: 'conv-1',
			revision: '2025-03-01T00:00:00Z',
			payload: { totalScore: 45 },
		})).applied).toBe(true);
		expect(await store.getAssignment('k-old')).toMatchObject({
			status: 'claimed',
			updatedAt: '2025-03-10T00:00:00.000Z',
			targetAssignmentId: null,
			dueDate: null,
		});
		// The old claim takes part in the window check.
		const blocked = await store.claimAssignment({
			claimKey: 'k-new',
			agentId: 'agent-7',
			moduleId: 'module-b',
			agentWindowStart: '2025-03-05T00:00:00.000Z',
			moduleCooldownStart: '2025-02-01T00:00:00.000Z',
			now: '2025-03-11T00:00:00.000Z',
		});
		expect(blocked.outcome === 'recent_assignment' && blocked.blocking.claimKey).toBe('k-old');
	});

	it("a claim never slips past another connection's uncommitted claim", async () => {
		const path = join(dir, 'state.sqlite');
		const store = openDirect(path);
		const blockedStore = new SqliteStateStore(path, { busyTimeoutMs: 100 });
		stores.push(blockedStore);
		const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
		const other = new DatabaseSync(path);
		try {
			other.exec('PRAGMA busy_timeout = 5000');
			// Another writer holds the lock (as another process would) and inserts a claim it has not committed yet.
			other.exec('BEGIN IMMEDIATE');
			other.exec(`INSERT INTO assignments
				(claim_key, agent_id, module_id, window_start, evaluation_id, status, created_at, updated_at)
				VALUES ('k-other', 'agent-7', 'module-a', '2025-03-01T00:00:00.000Z', NULL, 'claimed',
					'2025-03-10T00:00:00.000Z', '2025-03-10T00:00:00.000Z')`);
			// While the other transaction is open, the claim cannot take the write lock and gives up after its
			// busy timeout instead of deciding without seeing the other claim …
			await expect(
				blockedStore.claimAssignment({
					claimKey: 'k-mine',
					agentId: 'agent-7',
					moduleId: 'module-b',
					agentWindowStart: '2025-03-05T00:00:00.000Z',
					moduleCooldownStart: '2025-02-01T00:00:00.000Z',
					now: '2025-03-11T00:00:00.000Z',
				}),
			).rejects.toThrow(/locked|busy/i);
			other.exec('COMMIT');
			// … and once the other claim is committed it is seen: no second claim for the agent.
			const after = await store.claimAssignment({
				claimKey: 'k-mine',
				agentId: 'agent-7',
				moduleId: 'module-b',
				agentWindowStart: '2025-03-05T00:00:00.000Z',
				moduleCooldownStart: '2025-02-01T00:00:00.000Z',
				now: '2025-03-11T00:00:00.000Z',
			});
			expect(after.outcome === 'recent_assignment' && after.blocking.claimKey).toBe('k-other');
			expect(await store.getAssignment('k-mine')).toBeUndefined();
		} finally {
			if (other.isTransaction) other.exec('ROLLBACK');
			other.close();
		}
	});

	it('two processes racing for the same idempotency keys: each key is won exactly once', async () => {
		const path = join(dir, 'state.sqlite');
		const keys = 2000;
		const workers = [0, 1].map((worker) => spawnClaimWorker({ kind: 'idempotency', path, worker, keys }));
		await Promise.all(workers.map((worker) => worker.ready));
		const startAt = Date.now() + 150;
		for (const worker of workers) worker.start(startAt);
		const won = (await Promise.all(workers.map((worker) => worker.done))) as number[][];
		expect(won[0].length + won[1].length).toBe(keys);
		expect(new Set([...won[0], ...won[1]]).size).toBe(keys);
		expect(await openDirect(path).hasIdempotencyKey(`claim-${keys - 1}`)).toBe(true);
	}, 60000);

	it('separate processes racing assignment claims for the same agents: exactly one claimed per agent', async () => {
		const path = join(dir, 'state.sqlite');
		// Create the file first so the workers do not also race the initial migration.
		await openDirect(path).close();
		const agents = 40;
		const claimsPerAgent = 2;
		const now = '2025-03-10T12:00:00.000Z';
		const workers = [0, 1, 2].map((worker) =>
			spawnClaimWorker({ kind: 'assignments', path, worker, agents, claimsPerAgent, now }),
		);
		await Promise.all(workers.map((worker) => worker.ready));
		const startAt = Date.now() + 150;
		for (const worker of workers) worker.start(startAt);
		const results = ((await Promise.all(workers.map((worker) => worker.done))) as AssignmentResult[][]).flat();
		expect(results).toHaveLength(3 * agents * claimsPerAgent);

		const store = openDirect(path);
		for (let agent = 0; agent < agents; agent++) {
			const agentId = `agent-${agent}`;
			const mine = results.filter((result) => result.agentId === agentId);
			const claimed = mine.filter((result) => result.outcome === 'claimed');
			expect(claimed).toHaveLength(1);
			// Every other attempt was refused because of the winner, and nothing else reached the ledger.
			for (const result of mine.filter((entry) => entry.outcome !== 'claimed')) {
				expect(result).toMatchObject({ outcome: 'recent_assignment', blockingKey: claimed[0].claimKey });
			}
			const ledger = await store.listAssignmentsByAgent(agentId, '2025-01-01T00:00:00Z');
			expect(ledger.map((claim) => claim.claimKey)).toEqual([claimed[0].claimKey]);
		}
	}, 90000);

	it('a closed store refuses further calls', async () => {
		const store = openDirect();
		await store.close();
		await store.close();
		await expect(store.getRecording('x')).rejects.toThrow('is closed');
		await expect(
			store.claimAssignment({
				claimKey: 'k',
				agentId: 'a',
				moduleId: 'm',
				agentWindowStart: '2025-03-01T00:00:00Z',
				moduleCooldownStart: '2025-03-01T00:00:00Z',
			}),
		).rejects.toThrow('is closed');
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

	it('hands out handles with every method of the store, refused once the handle is closed', async () => {
		const handle = await openStateStore({ driver: 'sqlite', path: join(dir, 'handle.sqlite') });
		const claim = await handle.claimAssignment({
			claimKey: 'k1',
			agentId: 'agent-7',
			moduleId: 'module-a',
			agentWindowStart: '2025-03-03T12:00:00Z',
			moduleCooldownStart: '2025-02-08T12:00:00Z',
			now: '2025-03-10T12:00:00Z',
		});
		expect(claim.outcome).toBe('claimed');
		expect((await handle.updateAssignment('k1', { status: 'assigned', targetAssignmentId: 't-1' }))?.status).toBe(
			'assigned',
		);
		expect((await handle.getAssignment('k1'))?.targetAssignmentId).toBe('t-1');
		expect(await handle.listAssignmentsByAgent('agent-7', '2025-03-01T00:00:00Z')).toHaveLength(1);
		const put = await handle.putEvaluation({
			evaluationId: 'ev-1',
			source: 'genesys-cloud',
			conversationId: 'conv-1',
			agentId: 'agent-7',
			revision: '2025-03-10T12:00:00Z',
			payload: { totalScore: 50 },
		});
		expect(put.applied).toBe(true);
		await handle.linkEvaluation('ev-1', recording.stateKey);
		expect((await handle.getEvaluation('ev-1'))?.stateKey).toBe(recording.stateKey);
		expect(await handle.listEvaluationsByConversation('conv-1')).toHaveLength(1);
		expect(await handle.listEvaluationsByAgent('agent-7', 5)).toHaveLength(1);
		await handle.upsertRecording(recording);
		expect(await handle.listRecordingsByConversation('conv-1')).toHaveLength(1);
		const id = await handle.addDeadLetter({ node: 'n', error: 'e', payload: 1 });
		expect((await handle.getDeadLetter(id))?.payload).toBe(1);

		await handle.close();
		await expect(handle.getAssignment('k1')).rejects.toThrow('closed');
		await expect(handle.putEvaluation(put.stored as never)).rejects.toThrow('closed');
	});

	it('reports an unreachable PostgreSQL clearly, without echoing the password', async () => {
		// Port 1 on loopback: nothing listens there, so the connection is refused at once.
		const opening = openStateStore({
			driver: 'postgres',
			host: '127.0.0.1',
			port: 1,
			database: 'n8n',
			user: 'n8n',
			password: 'hunter2-secret',
		});
		await expect(opening).rejects.toThrow(/Could not open the PostgreSQL state store at 127\.0\.0\.1:1\/n8n/);
		await expect(opening).rejects.not.toThrow(/hunter2/);
	});

	it('refuses an invalid PostgreSQL schema name before connecting', async () => {
		await expect(
			openStateStore({ driver: 'postgres', host: '127.0.0.1', port: 1, schema: 'x"; DROP TABLE y; --' }),
		).rejects.toThrow(/Invalid PostgreSQL schema name/);
	});

	it('puts the default file in the n8n user folder', () => {
		expect(defaultStatePath('/home/node')).toBe('/home/node/.n8n/cx-training/state.sqlite');
	});
});
