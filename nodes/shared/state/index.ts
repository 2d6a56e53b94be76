import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

import { PostgresStateStore, type PostgresSslOptions } from './postgres';
import { SqliteStateStore } from './sqlite';
import type {
	AssignmentClaim,
	AssignmentStatus,
	ClaimOutcome,
	ClaimRequest,
	DeadLetter,
	DeadLetterQuery,
	EvaluationInput,
	RecordingRow,
	StateStore,
	StoredEvaluation,
} from './types';

export type {
	AssignmentClaim,
	AssignmentStatus,
	ClaimOutcome,
	ClaimRequest,
	DeadLetter,
	DeadLetterQuery,
	EvaluationInput,
	RecordingRow,
	RecordingStage,
	StateStore,
	StoredEvaluation,
} from './types';
export { SqliteStateStore, type SqliteStateStoreOptions } from './sqlite';
export {
	DEFAULT_POSTGRES_SCHEMA,
	PostgresStateStore,
	validatePostgresSchema,
	type PostgresSslOptions,
	type PostgresStateStoreOptions,
} from './postgres';
export { SQLITE_MIGRATIONS, postgresMigrations, type Migration } from './schema';

export interface SqliteStateConfig {
	driver: 'sqlite';
	/** File path of the database; created with its parent folders when missing. */
	path: string;
	busyTimeoutMs?: number;
}

export interface PostgresStateConfig {
	driver: 'postgres';
	connectionString?: string;
	host?: string;
	port?: number;
	database?: string;
	user?: string;
	password?: string;
	/** Own schema inside the database n8n already uses; `cx_training` when absent. */
	schema?: string;
	/** true: TLS with a verified certificate; an object to relax verification or name the CA. */
	ssl?: boolean | PostgresSslOptions;
	/** Connections of this process's pool for this database (default 10). */
	maxConnections?: number;
}

export type StateStoreConfig = SqliteStateConfig | PostgresStateConfig;

/** `<userFolder>/.n8n/cx-training/state.sqlite`, beside n8n's own data in its user folder. */
export function defaultStatePath(userFolder: string): string {
	return join(userFolder, '.n8n', 'cx-training', 'state.sqlite');
}

/**
 * n8n runs many executions in one process, so each database file gets one shared connection per process.
 * Callers receive a handle: closing it releases only that handle; the connection stays for the next execution
 * until closeAllStateStores().
 */
const sqliteConnections = new Map<string, SqliteStateStore>();
/** One pool per PostgreSQL configuration per process, keyed by a hash of the configuration (not kept in clear). */
const postgresPools = new Map<string, Promise<PostgresStateStore>>();

class SharedStateStoreHandle implements StateStore {
	readonly driver: 'sqlite' | 'postgres';
	private released = false;

	constructor(private readonly store: StateStore) {
		this.driver = store.driver;
	}

	async upsertRecording(
		row: Pick<
			RecordingRow,
			'stateKey' | 'source' | 'conversationId' | 'recordingId' | 'stage' | 'ref'
		>,
	): Promise<RecordingRow> {
		return this.open().upsertRecording(row);
	}

	async getRecording(stateKey: string): Promise<RecordingRow | undefined> {
		return this.open().getRecording(stateKey);
	}

	async updateRecording(
		stateKey: string,
		expectedVersion: number,
		patch: Partial<Pick<RecordingRow, 'stage' | 'ref' | 'lmsAssetId'>>,
	): Promise<RecordingRow | undefined> {
		return this.open().updateRecording(stateKey, expectedVersion, patch);
	}

	async claimIdempotencyKey(key: string, scope: string): Promise<boolean> {
		return this.open().claimIdempotencyKey(key, scope);
	}

	async hasIdempotencyKey(key: string): Promise<boolean> {
		return this.open().hasIdempotencyKey(key);
	}

	async addDeadLetter(entry: {
		stateKey?: string;
		node: string;
		error: string;
		payload: unknown;
	}): Promise<number> {
		return this.open().addDeadLetter(entry);
	}

	async listDeadLetters(options?: DeadLetterQuery): Promise<DeadLetter[]> {
		return this.open().listDeadLetters(options);
	}

	async markDeadLetterReplayed(id: number): Promise<void> {
		return this.open().markDeadLetterReplayed(id);
	}

	async getDeadLetter(id: number): Promise<DeadLetter | undefined> {
		return this.open().getDeadLetter(id);
	}

	async listRecordingsByConversation(conversationId: string): Promise<RecordingRow[]> {
		return this.open().listRecordingsByConversation(conversationId);
	}

	async putEvaluation(entry: EvaluationInput): Promise<{ applied: boolean; stored: StoredEvaluation }> {
		return this.open().putEvaluation(entry);
	}

	async getEvaluation(evaluationId: string): Promise<StoredEvaluation | undefined> {
		return this.open().getEvaluation(evaluationId);
	}

	async listEvaluationsByConversation(conversationId: string): Promise<StoredEvaluation[]> {
		return this.open().listEvaluationsByConversation(conversationId);
	}

	async listEvaluationsByAgent(agentId: string, limit: number): Promise<StoredEvaluation[]> {
		return this.open().listEvaluationsByAgent(agentId, limit);
	}

	async linkEvaluation(evaluationId: string, stateKey: string): Promise<void> {
		return this.open().linkEvaluation(evaluationId, stateKey);
	}

	async claimAssignment(request: ClaimRequest): Promise<ClaimOutcome> {
		return this.open().claimAssignment(request);
	}

	async updateAssignment(
		claimKey: string,
		patch: { status: AssignmentStatus; targetAssignmentId?: string; dueDate?: string },
	): Promise<AssignmentClaim | undefined> {
		return this.open().updateAssignment(claimKey, patch);
	}

	async getAssignment(claimKey: string): Promise<AssignmentClaim | undefined> {
		return this.open().getAssignment(claimKey);
	}

	async listAssignmentsByAgent(agentId: string, sinceIso: string): Promise<AssignmentClaim[]> {
		return this.open().listAssignmentsByAgent(agentId, sinceIso);
	}

	async close(): Promise<void> {
		this.released = true;
	}

	private open(): StateStore {
		// Async methods turn this into a rejection, as callers of the interface expect.
		if (this.released) throw new Error('This state store handle has been closed');
		return this.store;
	}
}

/**
 * Opens the configured state store, reusing this process's connection to the same SQLite file or its pool for
 * the same PostgreSQL configuration.
 */
export async function openStateStore(config: StateStoreConfig): Promise<StateStore> {
	if (config.driver === 'postgres') {
		return new SharedStateStoreHandle(await postgresPool(config));
	}
	if (config.driver !== 'sqlite') {
		throw new Error(
			`Unknown state store driver ${JSON.stringify((config as { driver: unknown }).driver)}`,
		);
	}
	if (typeof config.path !== 'string' || config.path.trim() === '') {
		throw new Error('The SQLite state store needs a file path');
	}
	const cacheKey = config.path === ':memory:' ? config.path : resolve(config.path);
	let store = sqliteConnections.get(cacheKey);
	if (!store || store.isClosed) {
		store = new SqliteStateStore(cacheKey, { busyTimeoutMs: config.busyTimeoutMs });
		sqliteConnections.set(cacheKey, store);
	}
	return new SharedStateStoreHandle(store);
}

/** Files this process currently holds a connection to (diagnostics and tests). */
export function cachedStateStorePaths(): string[] {
	return [...sqliteConnections.entries()]
		.filter(([, store]) => !store.isClosed)
		.map(([path]) => path);
}

async function postgresPool(config: PostgresStateConfig): Promise<PostgresStateStore> {
	const options = { ...config } as Omit<PostgresStateConfig, 'driver'> & { driver?: string };
	delete options.driver;
	const key = createHash('sha256').update(JSON.stringify(options)).digest('hex');
	const cached = postgresPools.get(key);
	if (cached) {
		const store = await cached.catch(() => undefined);
		if (store && !store.isClosed) return store;
		if (postgresPools.get(key) === cached) postgresPools.delete(key);
		return await postgresPool(config);
	}
	// Concurrent executions opening the same database share one pool and one migration run.
	const opening = PostgresStateStore.open(options).catch((error: Error) => {
		if (postgresPools.get(key) === opening) postgresPools.delete(key);
		const where = options.connectionString
			? 'the configured connection string'
			: `${options.host ?? 'localhost'}:${options.port ?? 5432}/${options.database ?? ''}`;
		throw new Error(`Could not open the PostgreSQL state store at ${where}: ${error.message}`, {
			cause: error,
		});
	});
	postgresPools.set(key, opening);
	return await opening;
}

/** Closes every connection and pool openStateStore has cached in this process (tests, shutdown). */
export async function closeAllStateStores(): Promise<void> {
	const stores = [...sqliteConnections.values()];
	sqliteConnections.clear();
	const pools = [...postgresPools.values()];
	postgresPools.clear();
	await Promise.all([
		...stores.map((store) => store.close()),
		...pools.map(async (opening) => {
			const store = await opening.catch(() => undefined);
			await store?.close();
		}),
	]);
}
