import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

import { MIGRATIONS_TABLE, SQLITE_MIGRATIONS, type Migration } from './schema';
import type { DeadLetter, RecordingRow, RecordingStage, StateStore } from './types';

type SqliteModule = typeof import('node:sqlite');
type Row = Record<string, unknown>;

export interface SqliteStateStoreOptions {
	/** How long a write waits for another connection's lock before failing with SQLITE_BUSY. */
	busyTimeoutMs?: number;
	/** Schema steps to apply; the built-in schema unless a test needs another. */
	migrations?: readonly Migration[];
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_DEAD_LETTER_LIMIT = 100;
const MAX_DEAD_LETTER_LIMIT = 10000;

/**
 * Loads `node:sqlite` only when a store is opened, so importing this module on a Node.js without it
 * (older than 22.13) does not crash the whole package.
 */
function loadSqlite(): SqliteModule {
	try {
		// getBuiltinModule bypasses test runners and bundlers that rewrite `require` and do not know the
		// scheme-only `node:sqlite` builtin; plain require covers Node versions without getBuiltinModule.
		const viaProcess = process.getBuiltinModule?.('node:sqlite') as SqliteModule | undefined;
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		return viaProcess ?? (require('node:sqlite') as SqliteModule);
	} catch (error) {
		throw new Error(
			`The SQLite state store needs Node.js 22.13 or newer (node:sqlite); this is Node.js ${process.version}`,
			{ cause: error },
		);
	}
}

function isFileBacked(path: string): boolean {
	return path !== ':memory:' && path !== '' && !path.startsWith('file:');
}

function now(): string {
	return new Date().toISOString();
}

/** JSON for payloads of unknown shape (dead letters): cycles and bigints must not turn a failure into a crash. */
function toLenientJson(value: unknown): string {
	const seen = new WeakSet<object>();
	const json = JSON.stringify(value ?? null, (_key, item: unknown) => {
		if (typeof item === 'bigint') return item.toString();
		if (typeof item === 'object' && item !== null) {
			if (seen.has(item)) return '[Circular]';
			seen.add(item);
		}
		return item;
	});
	return json ?? 'null';
}

function parseJson(text: unknown): unknown {
	return typeof text === 'string' ? (JSON.parse(text) as unknown) : null;
}

function toRecordingRow(row: Row): RecordingRow {
	return {
		stateKey: String(row.state_key),
		source: String(row.source),
		conversationId: String(row.conversation_id),
		recordingId: String(row.recording_id),
		stage: String(row.stage) as RecordingStage,
		ref: (parseJson(row.ref_json) ?? {}) as RecordingRow['ref'],
		lmsAssetId: row.lms_asset_id === null ? null : String(row.lms_asset_id),
		version: Number(row.version),
		updatedAt: String(row.updated_at),
	};
}

function toDeadLetter(row: Row): DeadLetter {
	return {
		id: Number(row.id),
		stateKey: row.state_key === null ? null : String(row.state_key),
		node: String(row.node),
		error: String(row.error),
		payload: parseJson(row.payload_json),
		createdAt: String(row.created_at),
		replayedAt: row.replayed_at === null ? null : String(row.replayed_at),
	};
}

function retryWhileBusy(timeoutMs: number, work: () => void): void {
	const deadline = Date.now() + Math.max(timeoutMs, 1000);
	const pause = new Int32Array(new SharedArrayBuffer(4));
	for (let attempt = 1; ; attempt++) {
		try {
			work();
			return;
		} catch (error) {
			const busy = (error as { errcode?: number }).errcode === 5 || /database is locked/.test((error as Error).message);
			if (!busy || Date.now() >= deadline) throw error;
			// A synchronous pause: the constructor cannot await.
			Atomics.wait(pause, 0, 0, Math.min(200, 10 * attempt));
		}
	}
}

/**
 * StateStore on an embedded SQLite file (DESIGN.md §3). Several n8n processes may open the same file: WAL lets
 * readers run beside one writer, busy_timeout makes writers queue instead of failing, and every claim is a
 * single INSERT … ON CONFLICT DO NOTHING so exactly one caller wins.
 */
export class SqliteStateStore implements StateStore {
	readonly driver = 'sqlite' as const;
	private readonly db: DatabaseSync;
	private readonly statements = new Map<string, StatementSync>();
	private closed = false;

	constructor(
		readonly path: string,
		options: SqliteStateStoreOptions = {},
	) {
		const sqlite = loadSqlite();
		if (isFileBacked(path)) mkdirSync(dirname(path), { recursive: true });
		this.db = new sqlite.DatabaseSync(path);
		try {
			const busyTimeoutMs = Math.max(
				0,
				Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS),
			);
			// busy_timeout first: switching to WAL itself needs a lock another process may hold.
			this.db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
			// Two processes opening a new file at once can still meet SQLITE_BUSY here (the switch to WAL and the
			// first migration take locks the busy handler does not always wait for): retry within the timeout.
			retryWhileBusy(busyTimeoutMs, () => {
				this.db.exec('PRAGMA journal_mode = WAL');
				// NORMAL is durable across application crashes in WAL mode and avoids an fsync per commit.
				this.db.exec('PRAGMA synchronous = NORMAL');
				this.migrate(options.migrations ?? SQLITE_MIGRATIONS);
			});
		} catch (error) {
			this.db.close();
			throw error;
		}
	}

	/** Versions of the migrations this file has received, ascending. */
	appliedMigrations(): number[] {
		this.assertOpen();
		return this.db
			.prepare(`SELECT version FROM ${MIGRATIONS_TABLE} ORDER BY version`)
			.all()
			.map((row) => Number(row.version));
	}

	async upsertRecording(
		row: Pick<
			RecordingRow,
			'stateKey' | 'source' | 'conversationId' | 'recordingId' | 'stage' | 'ref'
		>,
	): Promise<RecordingRow> {
		this.statement(
			`INSERT INTO recordings
				(state_key, source, conversation_id, recording_id, stage, ref_json, lms_asset_id, version, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, NULL, 1, ?)
			ON CONFLICT (state_key) DO NOTHING`,
		).run(
			row.stateKey,
			row.source,
			row.conversationId,
			row.recordingId,
			row.stage,
			JSON.stringify(row.ref ?? {}),
			now(),
		);
		const stored = await this.getRecording(row.stateKey);
		// Rows are never deleted, so the row inserted or found above is still there.
		if (!stored) throw new Error(`Recording ${row.stateKey} vanished from the state store`);
		return stored;
	}

	async getRecording(stateKey: string): Promise<RecordingRow | undefined> {
		const row = this.statement('SELECT * FROM recordings WHERE state_key = ?').get(stateKey);
		return row ? toRecordingRow(row) : undefined;
	}

	async updateRecording(
		stateKey: string,
		expectedVersion: number,
		patch: Partial<Pick<RecordingRow, 'stage' | 'ref' | 'lmsAssetId'>>,
	): Promise<RecordingRow | undefined> {
		const assignments: string[] = [];
		const values: SQLInputValue[] = [];
		if (patch.stage !== undefined) {
			assignments.push('stage = ?');
			values.push(patch.stage);
		}
		if (patch.ref !== undefined) {
			assignments.push('ref_json = ?');
			values.push(JSON.stringify(patch.ref));
		}
		if (patch.lmsAssetId !== undefined) {
			assignments.push('lms_asset_id = ?');
			values.push(patch.lmsAssetId);
		}
		assignments.push('version = version + 1', 'updated_at = ?');
		values.push(now(), stateKey, expectedVersion);
		// One statement compares and swaps, so a concurrent writer cannot slip in between check and update.
		const row = this.statement(
			`UPDATE recordings SET ${assignments.join(', ')}
			WHERE state_key = ? AND version = ?
			RETURNING *`,
		).get(...values);
		return row ? toRecordingRow(row) : undefined;
	}

	async claimIdempotencyKey(key: string, scope: string): Promise<boolean> {
		const result = this.statement(
			`INSERT INTO idempotency (key, scope, created_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO NOTHING`,
		).run(key, scope, now());
		return Number(result.changes) === 1;
	}

	async hasIdempotencyKey(key: string): Promise<boolean> {
		return (
			this.statement('SELECT 1 AS found FROM idempotency WHERE key = ?').get(key) !== undefined
		);
	}

	async addDeadLetter(entry: {
		stateKey?: string;
		node: string;
		error: string;
		payload: unknown;
	}): Promise<number> {
		const result = this.statement(
			`INSERT INTO dead_letters (state_key, node, error, payload_json, created_at, replayed_at)
			VALUES (?, ?, ?, ?, ?, NULL)`,
		).run(entry.stateKey ?? null, entry.node, entry.error, toLenientJson(entry.payload), now());
		return Number(result.lastInsertRowid);
	}

	async listDeadLetters(
		options: { includeReplayed?: boolean; limit?: number } = {},
	): Promise<DeadLetter[]> {
		const requested = Math.floor(options.limit ?? DEFAULT_DEAD_LETTER_LIMIT);
		const limit = Math.min(
			MAX_DEAD_LETTER_LIMIT,
			Math.max(1, Number.isFinite(requested) ? requested : 1),
		);
		const sql = options.includeReplayed
			? 'SELECT * FROM dead_letters ORDER BY id LIMIT ?'
			: 'SELECT * FROM dead_letters WHERE replayed_at IS NULL ORDER BY id LIMIT ?';
		return this.statement(sql)
			.all(limit)
			.map((row) => toDeadLetter(row));
	}

	async markDeadLetterReplayed(id: number): Promise<void> {
		const result = this.statement('UPDATE dead_letters SET replayed_at = ? WHERE id = ?').run(
			now(),
			id,
		);
		if (Number(result.changes) === 0) throw new Error(`Dead letter ${id} does not exist`);
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.statements.clear();
		this.db.close();
	}

	get isClosed(): boolean {
		return this.closed;
	}

	private assertOpen(): void {
		if (this.closed) throw new Error(`The state store at ${this.path} is closed`);
	}

	/** Prepared statements are cached: n8n calls these per item, often thousands of times per run. */
	private statement(sql: string): StatementSync {
		this.assertOpen();
		let prepared = this.statements.get(sql);
		if (!prepared) {
			prepared = this.db.prepare(sql);
			this.statements.set(sql, prepared);
		}
		return prepared;
	}

	private migrate(migrations: readonly Migration[]): void {
		// IMMEDIATE takes the write lock up front, so two processes opening a new file migrate one after the other.
		this.db.exec('BEGIN IMMEDIATE');
		try {
			this.db.exec(
				`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
					version INTEGER PRIMARY KEY,
					name TEXT NOT NULL,
					applied_at TEXT NOT NULL
				)`,
			);
			const applied = new Set(
				this.db
					.prepare(`SELECT version FROM ${MIGRATIONS_TABLE}`)
					.all()
					.map((row) => Number(row.version)),
			);
			const record = this.db.prepare(
				`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`,
			);
			for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
				if (applied.has(migration.version)) continue;
				for (const sql of migration.statements) this.db.exec(sql);
				record.run(migration.version, migration.name, now());
			}
			this.db.exec('COMMIT');
		} catch (error) {
			if (this.db.isTransaction) this.db.exec('ROLLBACK');
			throw error;
		}
	}
}
