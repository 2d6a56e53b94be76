import { Client } from 'pg';

import {
	closeAllStateStores,
	openStateStore,
	postgresMigrations,
	PostgresStateStore,
	type PostgresStateStoreOptions,
} from '../../nodes/shared/state';
import { startPostgres, type PostgresCluster } from '../support/postgres';
import { describeStateStoreBehaviour, recording } from '../support/stateStoreSuite';

// A real PostgreSQL server is started for this file; without its binaries the file fails (see startPostgres).
let cluster: PostgresCluster | undefined;
let schemaCounter = 0;
let currentSchema = '';
const stores: PostgresStateStore[] = [];

function connection(): PostgresStateStoreOptions {
	if (!cluster) throw new Error('The PostgreSQL test server did not start (see the error of beforeAll)');
	return { host: cluster.host, port: cluster.port, user: cluster.user, database: cluster.database };
}

async function openStore(schema: string, extra: Partial<PostgresStateStoreOptions> = {}): Promise<PostgresStateStore> {
	const store = await PostgresStateStore.open({ ...connection(), schema, maxConnections: 5, ...extra });
	stores.push(store);
	return store;
}

function nextSchema(): string {
	return `cx_test_${process.pid}_${++schemaCounter}`;
}

async function withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
	const client = new Client(connection());
	await client.connect();
	try {
		return await work(client);
	} finally {
		await client.end();
	}
}

beforeAll(async () => {
	cluster = await startPostgres();
}, 120000);

afterAll(async () => {
	await closeAllStateStores();
	await cluster?.stop();
}, 60000);

afterEach(async () => {
	await Promise.all(stores.splice(0).map((store) => store.close()));
	await closeAllStateStores();
});

describe('PostgreSQL test server', () => {
	it('runs a real PostgreSQL on loopback', () => {
		expect(cluster?.host).toBe('127.0.0.1');
		expect(cluster?.version).toMatch(/^PostgreSQL \d+/);
	});
});

describeStateStoreBehaviour('PostgreSQL', {
	fresh: async () => {
		currentSchema = nextSchema();
		return await openStore(currentSchema);
	},
	// A second pool on the same schema: another n8n worker.
	peer: async () => await openStore(currentSchema),
});

describe('PostgreSQL state store', () => {
	it('creates its own schema, applies migrations once and keeps data when reopened', async () => {
		const schema = nextSchema();
		const first = await openStore(schema);
		expect(await first.appliedMigrations()).toEqual([1]);
		await first.upsertRecording(recording);
		await first.close();

		const second = await openStore(schema);
		expect(await second.appliedMigrations()).toEqual([1]);
		expect((await second.getRecording(recording.stateKey))?.version).toBe(1);

		const tables = await withClient(async (client) =>
			(
				await client.query<{ table_name: string }>(
					'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
					[schema],
				)
			).rows.map((row) => row.table_name),
		);
		expect(tables).toEqual([
			'assignments',
			'dead_letters',
			'evaluations',
			'idempotency',
			'recordings',
			'schema_migrations',
		]);
		// Nothing lands in public.
		const inPublic = await withClient(async (client) =>
			(
				await client.query(
					"SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'recordings'",
				)
			).rows.length,
		);
		expect(inPublic).toBe(0);
	});

	it('applies a later migration in one transaction: a failing step leaves nothing behind', async () => {
		const schema = nextSchema();
		await (await openStore(schema)).close();
		const base = postgresMigrations(`"${schema}"`);
		const broken = {
			version: 2,
			name: 'fails halfway',
			statements: [`CREATE TABLE "${schema}".half_done (id integer)`, 'THIS IS NOT SQL'],
		};
		await expect(PostgresStateStore.open({ ...connection(), schema, migrations: [...base, broken] })).rejects.toThrow(
			/syntax error/,
		);
		const store = await openStore(schema, {
			migrations: [
				...base,
				{ version: 2, name: 'works', statements: [`CREATE TABLE "${schema}".half_done (id integer)`] },
			],
		});
		expect(await store.appliedMigrations()).toEqual([1, 2]);
	});

	it('workers opening a new schema at the same moment migrate it once', async () => {
		const schema = nextSchema();
		const opened = await Promise.all(Array.from({ length: 4 }, () => openStore(schema, { maxConnections: 2 })));
		for (const store of opened) expect(await store.appliedMigrations()).toEqual([1]);
		const recorded = await withClient(
			async (client) => (await client.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`)).rows[0].n,
		);
		expect(recorded).toBe(1);
	});

	it('uses a schema an administrator created, with a role that may not create schemas', async () => {
		const schema = nextSchema();
		const role = `cx_worker_${process.pid}`;
		await withClient(async (client) => {
			await client.query(`DROP ROLE IF EXISTS ${role}`);
			await client.query(`CREATE ROLE ${role} LOGIN`);
			await client.query(`CREATE SCHEMA "${schema}" AUTHORIZATION ${role}`);
		});
		try {
			const store = await openStore(schema, { user: role });
			expect(await store.claimIdempotencyKey('k', 's')).toBe(true);
			// Without the schema, the same role cannot create one: the error says so.
			await expect(PostgresStateStore.open({ ...connection(), user: role, schema: nextSchema() })).rejects.toThrow(
				/permission denied/,
			);
		} finally {
			await Promise.all(stores.splice(0).map((store) => store.close()));
			await withClient(async (client) => {
				await client.query(`DROP SCHEMA "${schema}" CASCADE`);
				await client.query(`DROP ROLE ${role}`);
			});
		}
	});

	it('stores payloads as jsonb, replacing NUL characters jsonb cannot hold', async () => {
		const store = await openStore(nextSchema());
		const id = await store.addDeadLetter({ node: 'n', error: 'e', payload: { text: 'a\u0000b', n: 1.5 } });
		expect((await store.getDeadLetter(id))?.payload).toEqual({ text: 'a\uFFFDb', n: 1.5 });
		const type = await withClient(
			async (client) =>
				(
					await client.query(
						`SELECT jsonb_typeof(payload) AS type FROM "${store.schema}".dead_letters WHERE id = $1`,
						[id],
					)
				).rows[0].type,
		);
		expect(type).toBe('object');
	});

	it('refuses schema names that are not plain identifiers', async () => {
		for (const schema of ['Upper', '1abc', 'a-b', 'pg_catalog', 'x"; DROP SCHEMA public; --', '']) {
			await expect(PostgresStateStore.open({ ...connection(), schema })).rejects.toThrow(
				/Invalid PostgreSQL schema name/,
			);
		}
	});

	it('a closed store refuses further calls', async () => {
		const store = await openStore(nextSchema());
		await store.close();
		await store.close();
		await expect(store.getRecording('x')).rejects.toThrow('is closed');
	});

	it('claims of one agent wait for a transaction holding that agent, then see its claim', async () => {
		const store = await openStore(nextSchema(), { maxConnections: 2 });
		const request = {
			agentId: 'agent-7',
			agentWindowStart: '2025-03-03T12:00:00.000Z',
			moduleCooldownStart: '2025-02-08T12:00:00.000Z',
			now: '2025-03-10T12:00:00.000Z',
		};
		// Another worker has taken the agent's lock and inserted a claim it has not committed yet.
		const other = new Client(connection());
		await other.connect();
		try {
			await other.query('BEGIN');
			await other.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
				`${store.schema}.assignments`,
				'agent-7',
			]);
			await other.query(
				`INSERT INTO "${store.schema}".assignments
					(claim_key, agent_id, module_id, window_start, status, created_at, updated_at)
				VALUES ('k-other', 'agent-7', 'module-a', $1, 'claimed', $2, $2)`,
				[request.agentWindowStart, request.now],
			);
			let settled = false;
			const mine = store
				.claimAssignment({ ...request, claimKey: 'k-mine', moduleId: 'module-b' })
				.finally(() => (settled = true));
			// A claim for another agent is not held up.
			expect(
				(await store.claimAssignment({ ...request, agentId: 'agent-8', claimKey: 'k-8', moduleId: 'module-b' }))
					.outcome,
			).toBe('claimed');
			await new Promise((resolve) => setTimeout(resolve, 300));
			expect(settled).toBe(false);
			await other.query('COMMIT');
			const outcome = await mine;
			expect(outcome.outcome === 'recent_assignment' && outcome.blocking.claimKey).toBe('k-other');
		} finally {
			await other.end();
		}
	});

	it('two pools of separate workers racing claims for many agents: exactly one claimed per agent', async () => {
		const schema = nextSchema();
		const workers = [await openStore(schema, { maxConnections: 8 }), await openStore(schema, { maxConnections: 8 })];
		const agents = 25;
		const now = '2025-03-10T12:00:00.000Z';
		const attempts = workers.flatMap((worker, w) =>
			Array.from({ length: agents * 4 }, (_, index) => {
				const agentId = `agent-${index % agents}`;
				const moduleId = `module-${w}-${Math.floor(index / agents)}`;
				return worker
					.claimAssignment({
						claimKey: `${agentId}:${moduleId}`,
						agentId,
						moduleId,
						agentWindowStart: '2025-03-03T12:00:00.000Z',
						moduleCooldownStart: '2025-02-08T12:00:00.000Z',
						now,
					})
					.then((result) => ({ agentId, result }));
			}),
		);
		const results = await Promise.all(attempts);
		for (let agent = 0; agent < agents; agent++) {
			const agentId = `agent-${agent}`;
			const mine = results.filter((entry) => entry.agentId === agentId);
			expect(mine).toHaveLength(8);
			expect(mine.filter((entry) => entry.result.outcome === 'claimed')).toHaveLength(1);
			expect(mine.filter((entry) => entry.result.outcome === 'recent_assignment')).toHaveLength(7);
			expect(await workers[1].listAssignmentsByAgent(agentId, '2025-01-01T00:00:00Z')).toHaveLength(1);
		}
	}, 60000);
});

describe('openStateStore with PostgreSQL', () => {
	it('returns the PostgreSQL store, one pool per configuration per process', async () => {
		const schema = nextSchema();
		const config = { driver: 'postgres' as const, ...connection(), schema };
		const [first, second] = await Promise.all([openStateStore(config), openStateStore(config)]);
		expect(first.driver).toBe('postgres');
		await first.upsertRecording(recording);
		await first.close();
		await expect(first.getRecording(recording.stateKey)).rejects.toThrow('closed');
		// The other handle still shares the pool.
		expect((await second.getRecording(recording.stateKey))?.stage).toBe('discovered');
		const pooled = await withClient(
			async (client) =>
				(
					await client.query(
						"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'n8n-nodes-cx-training'",
					)
				).rows[0].n,
		);
		expect(pooled).toBeGreaterThanOrEqual(1);

		await closeAllStateStores();
		// Closing every pool ends their connections.
		const deadline = Date.now() + 5000;
		let left = -1;
		while (Date.now() < deadline) {
			left = await withClient(
				async (client) =>
					(
						await client.query(
							"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'n8n-nodes-cx-training'",
						)
					).rows[0].n,
			);
			if (left === 0) break;
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		expect(left).toBe(0);
		await expect(second.getRecording(recording.stateKey)).rejects.toThrow('closed');

		const reopened = await openStateStore(config);
		expect((await reopened.getRecording(recording.stateKey))?.version).toBe(1);
	});

	it('defaults to the cx_training schema', async () => {
		const store = await openStateStore({ driver: 'postgres', ...connection() });
		await store.claimIdempotencyKey('default-schema-key', 'test');
		const found = await withClient(
			async (client) =>
				(await client.query('SELECT scope FROM cx_training.idempotency WHERE key = $1', ['default-schema-key'])).rows,
		);
		expect(found).toEqual([{ scope: 'test' }]);
	});
});
