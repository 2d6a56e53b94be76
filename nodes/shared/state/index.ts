import { join, resolve } from 'node:path';

import { SqliteStateStore } from './sqlite';
import type { DeadLetter, RecordingRow, StateStore } from './types';

export type { DeadLetter, RecordingRow, RecordingStage, StateStore } from './types';
export { SqliteStateStore, type SqliteStateStoreOptions } from './sqlite';
export { SQLITE_MIGRATIONS, type Migration } from './schema';

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
	/** Own schema inside the database n8n already uses. */
	schema?: string;
	ssl?: boolean;
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

	async listDeadLetters(options?: {
		includeReplayed?: boolean;
		limit?: number;
	}): Promise<DeadLetter[]> {
		return this.open().listDeadLetters(options);
	}

	async markDeadLetterReplayed(id: number): Promise<void> {
		return this.open().markDeadLetterReplayed(id);
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

/** Opens the configured state store, reusing this process's connection to the same SQLite file. */
export async function openStateStore(config: StateStoreConfig): Promise<StateStore> {
	if (config.driver === 'postgres') {
		throw new Error(
			'The PostgreSQL state store is not implemented yet; use the SQLite state store (driver "sqlite")',
		);
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

/** Closes every connection openStateStore has cached in this process (tests, shutdown). */
export async function closeAllStateStores(): Promise<void> {
	const stores = [...sqliteConnections.values()];
	sqliteConnections.clear();
	await Promise.all(stores.map((store) => store.close()));
}
