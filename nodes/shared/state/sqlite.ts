import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

import {
	assertAssignmentStatus,
	clampLimit,
	LIVE_STATUS_SQL,
	normalizeClaimRequest,
	normalizeEvaluation,
	normalizeInstant,
	nowIso,
	rowReaders,
	toLenientJson,
} from './common';
import { MIGRATIONS_TABLE, pendingMigrations, SQLITE_MIGRATIONS, type Migration } from './schema';
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

type SqliteModule = typeof import('node:sqlite');

export interface SqliteStateStoreOptions {
	/** How long a write waits for another connection's lock before failing with SQLITE_BUSY. */
	busyTimeoutMs?: number;
	/** Schema steps to apply; the built-in schema unless a test needs another. */
	migrations?: readonly Migration[];
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

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

function parseJson(text: unknown): unknown {
	return typeof text === 'string' ? (JSON.parse(text) as unknown) : null;
}

const read = rowReaders((row, name) => parseJson(row[`${name}_json`]));

function retryWhileBusy<T>(timeoutMs: number, work: () => T): T {
	const deadline = Date.now() + Math.max(timeoutMs, 1000);
	const pause = new Int32Array(new SharedArrayBuffer(4));
	for (let attempt = 1; ; attempt++) {
		try {
			return work();
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
 * single INSERT … ON CONFLICT DO NOTHING so exactly one caller wins. The assignment claim, whose check spans
 * several rows, runs in a BEGIN IMMEDIATE transaction: the write lock is taken before the check, so no other
 * connection or process can insert between the check and the insert.
 */
export class SqliteStateStore implements StateStore {
	readonly driver = 'sqlite' as const;
	private readonly db: DatabaseSync;
	private readonly statements = new Map<string, StatementSync>();
	private readonly busyTimeoutMs: number;
	private closed = false;

	constructor(
		readonly path: string,
		options: SqliteStateStoreOptions = {},
	) {
		const sqlite = loadSqlite();
		if (isFileBacked(path)) mkdirSync(dirname(path), { recursive: true });
		this.db = new sqlite.DatabaseSync(path);
		const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
		this.busyTimeoutMs = busyTimeoutMs;
		try {
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
			nowIso(),
		);
		const stored = await this.getRecording(row.stateKey);
		// Rows are never deleted, so the row inserted or found above is still there.
		if (!stored) throw new Error(`Recording ${row.stateKey} vanished from the state store`);
		return stored;
	}

	async getRecording(stateKey: string): Promise<RecordingRow | undefined> {
		const row = this.statement('SELECT * FROM recordings WHERE state_key = ?').get(stateKey);
		return row ? read.recording(row) : undefined;
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
		values.push(nowIso(), stateKey, expectedVersion);
		// One statement compares and swaps, so a concurrent writer cannot slip in between check and update.
		const row = this.statement(
			`UPDATE recordings SET ${assignments.join(', ')}
			WHERE state_key = ? AND version = ?
			RETURNING *`,
		).get(...values);
		return row ? read.recording(row) : undefined;
	}

	async claimIdempotencyKey(key: string, scope: string): Promise<boolean> {
		const result = this.statement(
			`INSERT INTO idempotency (key, scope, created_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO NOTHING`,
		).run(key, scope, nowIso());
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
		).run(entry.stateKey ?? null, entry.node, entry.error, toLenientJson(entry.payload), nowIso());
		return Number(result.lastInsertRowid);
	}

	async listDeadLetters(options: DeadLetterQuery = {}): Promise<DeadLetter[]> {
		const sql =
			'SELECT * FROM dead_letters WHERE id > ? AND (? = 1 OR replayed_at IS NULL) AND (? IS NULL OR node = ?) ORDER BY id LIMIT ?';
		const node = options.node ?? null;
		return this.statement(sql)
			.all(options.afterId ?? 0, options.includeReplayed ? 1 : 0, node, node, clampLimit(options.limit))
			.map((row) => read.deadLetter(row));
	}

	async markDeadLetterReplayed(id: number): Promise<void> {
		const result = this.statement('UPDATE dead_letters SET replayed_at = ? WHERE id = ?').run(
			nowIso(),
			id,
		);
		if (Number(result.changes) === 0) throw new Error(`Dead letter ${id} does not exist`);
	}

	async getDeadLetter(id: number): Promise<DeadLetter | undefined> {
		const row = this.statement('SELECT * FROM dead_letters WHERE id = ?').get(id);
		return row ? read.deadLetter(row) : undefined;
	}

	async listRecordingsByConversation(conversationId: string): Promise<RecordingRow[]> {
		// rowid follows insertion order: the first recording of the conversation comes first.
		return this.statement('SELECT * FROM recordings WHERE conversation_id = ? ORDER BY rowid')
			.all(conversationId)
			.map((row) => read.recording(row));
	}

	async putEvaluation(entry: EvaluationInput): Promise<{ applied: boolean; stored: StoredEvaluation }> {
		const evaluation = normalizeEvaluation(entry);
		// One statement decides and writes: the WHERE of the upsert is the revision check, so two connections
		// delivering different revisions at once always leave the newest.
		const written = this.statement(
			`INSERT INTO evaluations
				(evaluation_id, source, conversation_id, agent_id, state_key, revision, evaluated_at, payload_json, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (evaluation_id) DO UPDATE SET
				source = excluded.source,
				conversation_id = excluded.conversation_id,
				agent_id = COALESCE(excluded.agent_id, evaluations.agent_id),
				state_key = COALESCE(excluded.state_key, evaluations.state_key),
				revision = excluded.revision,
				evaluated_at = COALESCE(excluded.evaluated_at, evaluations.evaluated_at),
				payload_json = excluded.payload_json,
				received_at = excluded.received_at
			WHERE excluded.revision > evaluations.revision
			RETURNING *`,
		).get(
			evaluation.evaluationId,
			evaluation.source,
			evaluation.conversationId,
			evaluation.agentId,
			evaluation.stateKey,
			evaluation.revision,
			evaluation.evaluatedAt,
			toLenientJson(entry.payload),
			nowIso(),
		);
		if (written) return { applied: true, stored: read.evaluation(written) };
		const stored = await this.getEvaluation(evaluation.evaluationId);
		if (!stored) throw new Error(`Evaluation ${evaluation.evaluationId} vanished from the state store`);
		return { applied: false, stored };
	}

	async getEvaluation(evaluationId: string): Promise<StoredEvaluation | undefined> {
		const row = this.statement('SELECT * FROM evaluations WHERE evaluation_id = ?').get(evaluationId);
		return row ? read.evaluation(row) : undefined;
	}

	async listEvaluationsByConversation(conversationId: string): Promise<StoredEvaluation[]> {
		return this.statement(
			`SELECT * FROM evaluations WHERE conversation_id = ?
			ORDER BY evaluated_at IS NULL, evaluated_at, evaluation_id`,
		)
			.all(conversationId)
			.map((row) => read.evaluation(row));
	}

	async listEvaluationsByAgent(agentId: string, limit: number): Promise<StoredEvaluation[]> {
		return this.statement(
			`SELECT * FROM evaluations WHERE agent_id = ?
			ORDER BY evaluated_at IS NULL, evaluated_at DESC, revision DESC, evaluation_id
			LIMIT ?`,
		)
			.all(agentId, clampLimit(limit))
			.map((row) => read.evaluation(row));
	}

	async linkEvaluation(evaluationId: string, stateKey: string): Promise<void> {
		const result = this.statement('UPDATE evaluations SET state_key = ? WHERE evaluation_id = ?').run(
			stateKey,
			evaluationId,
		);
		if (Number(result.changes) === 0) throw new Error(`Evaluation ${evaluationId} does not exist`);
	}

	async claimAssignment(request: ClaimRequest): Promise<ClaimOutcome> {
		const claim = normalizeClaimRequest(request);
		// Synchronous from BEGIN to COMMIT: no other call on this connection can interleave, and BEGIN IMMEDIATE
		// holds the database's write lock against every other connection and process until COMMIT.
		return this.immediateTransaction((): ClaimOutcome => {
			const existing = this.statement('SELECT * FROM assignments WHERE claim_key = ?').get(claim.claimKey);
			if (existing && String(existing.status) !== 'failed') {
				return { outcome: 'existing', claim: read.assignment(existing) };
			}
			const recent = this.statement(
				`SELECT * FROM assignments
				WHERE agent_id = ? AND status IN (${LIVE_STATUS_SQL}) AND created_at > ?
				ORDER BY created_at DESC, id DESC LIMIT 1`,
			).get(claim.agentId, claim.agentWindowStart);
			if (recent) return { outcome: 'recent_assignment', blocking: read.assignment(recent) };
			const cooling = this.statement(
				`SELECT * FROM assignments
				WHERE agent_id = ? AND module_id = ? AND status IN (${LIVE_STATUS_SQL}) AND created_at > ?
				ORDER BY created_at DESC, id DESC LIMIT 1`,
			).get(claim.agentId, claim.moduleId, claim.moduleCooldownStart);
			if (cooling) return { outcome: 'cooldown', blocking: read.assignment(cooling) };

			const row = existing
				? this.statement(
						`UPDATE assignments SET
							status = ?, evaluation_id = COALESCE(?, evaluation_id), due_date = ?, window_start = ?,
							target_assignment_id = NULL, created_at = ?, updated_at = ?
						WHERE claim_key = ? AND status = 'failed'
						RETURNING *`,
					).get(
						claim.status,
						claim.evaluationId,
						claim.dueDate,
						claim.agentWindowStart,
						claim.now,
						claim.now,
						claim.claimKey,
					)
				: this.statement(
						`INSERT INTO assignments
							(claim_key, agent_id, module_id, window_start, evaluation_id, status, target_assignment_id,
							due_date, created_at, updated_at)
						VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
						ON CONFLICT (claim_key) DO NOTHING
						RETURNING *`,
					).get(
						claim.claimKey,
						claim.agentId,
						claim.moduleId,
						claim.agentWindowStart,
						claim.evaluationId,
						claim.status,
						claim.dueDate,
						claim.now,
						claim.now,
					);
			// Inside the write lock the row cannot have changed since the check above.
			if (!row) throw new Error(`Claim ${claim.claimKey} changed during its own transaction`);
			return { outcome: 'claimed', claim: read.assignment(row) };
		});
	}

	async updateAssignment(
		claimKey: string,
		patch: { status: AssignmentStatus; targetAssignmentId?: string; dueDate?: string },
	): Promise<AssignmentClaim | undefined> {
		const status = assertAssignmentStatus(patch.status);
		const row = this.statement(
			`UPDATE assignments SET
				status = ?,
				target_assignment_id = COALESCE(?, target_assignment_id),
				due_date = COALESCE(?, due_date),
				updated_at = ?
			WHERE claim_key = ?
			RETURNING *`,
		).get(status, patch.targetAssignmentId ?? null, patch.dueDate ?? null, nowIso(), claimKey);
		return row ? read.assignment(row) : undefined;
	}

	async getAssignment(claimKey: string): Promise<AssignmentClaim | undefined> {
		const row = this.statement('SELECT * FROM assignments WHERE claim_key = ?').get(claimKey);
		return row ? read.assignment(row) : undefined;
	}

	async listAssignmentsByAgent(agentId: string, sinceIso: string): Promise<AssignmentClaim[]> {
		const since = normalizeInstant(sinceIso, 'sinceIso');
		return this.statement(
			`SELECT * FROM assignments WHERE agent_id = ? AND created_at >= ?
			ORDER BY created_at DESC, id DESC`,
		)
			.all(agentId, since)
			.map((row) => read.assignment(row));
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

	/**
	 * Runs `work` inside BEGIN IMMEDIATE … COMMIT. A lock the busy handler gave up on (SQLITE_BUSY) retries the
	 * whole transaction, which is safe because a failed attempt rolled back everything it did.
	 */
	private immediateTransaction<T>(work: () => T): T {
		this.assertOpen();
		return retryWhileBusy(this.busyTimeoutMs, () => {
			this.db.exec('BEGIN IMMEDIATE');
			try {
				const result = work();
				this.db.exec('COMMIT');
				return result;
			} catch (error) {
				if (this.db.isTransaction) this.db.exec('ROLLBACK');
				throw error;
			}
		});
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
			for (const migration of pendingMigrations(migrations, applied)) {
				for (const sql of migration.statements) this.db.exec(sql);
				record.run(migration.version, migration.name, nowIso());
			}
			this.db.exec('COMMIT');
		} catch (error) {
			if (this.db.isTransaction) this.db.exec('ROLLBACK');
			throw error;
		}
	}
}
