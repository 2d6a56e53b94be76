import { Pool, type PoolClient, type PoolConfig } from 'pg';

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
	type Row,
} from './common';
import { MIGRATIONS_TABLE, pendingMigrations, postgresMigrations, type Migration } from './schema';
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

export const DEFAULT_POSTGRES_SCHEMA = 'cx_training';

export interface PostgresSslOptions {
	/** false accepts any server certificate (encrypted, not authenticated). Default true. */
	rejectUnauthorized?: boolean;
	/** PEM of the CA that signed the server certificate; the system's CAs when absent. */
	ca?: string;
}

export interface PostgresStateStoreOptions {
	connectionString?: string;
	host?: string;
	port?: number;
	database?: string;
	user?: string;
	password?: string;
	/** Own schema inside the database n8n already uses; created when missing. */
	schema?: string;
	ssl?: boolean | PostgresSslOptions;
	/** Connections of this process's pool. */
	maxConnections?: number;
	connectionTimeoutMs?: number;
	/** Schema steps to apply; the built-in schema unless a test needs another. */
	migrations?: readonly Migration[];
}

/** A plain identifier: it is spliced into SQL (quoted), so nothing else is accepted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function validatePostgresSchema(schema: string): string {
	if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
		throw new Error(
			`Invalid PostgreSQL schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _ ` +
				'(at most 63, not starting with a digit or pg_)',
		);
	}
	return schema;
}

/** Objects and arrays become jsonb text explicitly: node-postgres would turn a JS array into a SQL array. */
function jsonb(value: unknown): string {
	return toLenientJson(value, { stripNul: true });
}

const read = rowReaders((row, name) => row[name]);

function poolConfig(options: PostgresStateStoreOptions): PoolConfig {
	const ssl =
		options.ssl === undefined || options.ssl === false
			? undefined
			: options.ssl === true
				? { rejectUnauthorized: true }
				: {
						rejectUnauthorized: options.ssl.rejectUnauthorized !== false,
						...(options.ssl.ca ? { ca: options.ssl.ca } : {}),
					};
	return {
		connectionString: options.connectionString || undefined,
		host: options.host || undefined,
		port: options.port || undefined,
		database: options.database || undefined,
		user: options.user || undefined,
		password: options.password ?? undefined,
		ssl,
		max: Math.max(1, Math.floor(options.maxConnections ?? 10)),
		connectionTimeoutMillis: options.connectionTimeoutMs ?? 15000,
		idleTimeoutMillis: 30000,
		application_name: 'n8n-nodes-cx-training',
	};
}

/**
 * StateStore on PostgreSQL (DESIGN.md §3), for n8n in queue mode: several workers share one database, so every
 * write is one atomic statement (INSERT … ON CONFLICT DO NOTHING claims, UPDATE … WHERE version = $n
 * compare-and-swap, revision-guarded upserts) and the one multi-row check, claimAssignment, runs in a
 * transaction serialized per agent (see there). Tables live in their own schema, created and migrated on open.
 */
export class PostgresStateStore implements StateStore {
	readonly driver = 'postgres' as const;
	readonly schema: string;
	private readonly pool: Pool;
	private readonly qualified: string;
	private closed = false;

	private constructor(options: PostgresStateStoreOptions) {
		this.schema = validatePostgresSchema(options.schema ?? DEFAULT_POSTGRES_SCHEMA);
		this.qualified = `"${this.schema}"`;
		this.pool = new Pool(poolConfig(options));
		// An idle connection dropped by the server must not crash n8n; the next query opens a new one.
		this.pool.on('error', () => undefined);
	}

	/** Connects, creates the schema when missing and applies pending migrations. */
	static async open(options: PostgresStateStoreOptions = {}): Promise<PostgresStateStore> {
		const store = new PostgresStateStore(options);
		try {
			await store.migrate(options.migrations ?? postgresMigrations(store.qualified));
		} catch (error) {
			await store.close();
			throw error;
		}
		return store;
	}

	get isClosed(): boolean {
		return this.closed;
	}

	/** Versions of the migrations this schema has received, ascending. */
	async appliedMigrations(): Promise<number[]> {
		const result = await this.query(`SELECT version FROM ${this.t(MIGRATIONS_TABLE)} ORDER BY version`);
		return result.rows.map((row) => Number(row.version));
	}

	async upsertRecording(
		row: Pick<RecordingRow, 'stateKey' | 'source' | 'conversationId' | 'recordingId' | 'stage' | 'ref'>,
	): Promise<RecordingRow> {
		await this.query(
			`INSERT INTO ${this.t('recordings')}
				(state_key, source, conversation_id, recording_id, stage, ref, lms_asset_id, version, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb, NULL, 1, $7)
			ON CONFLICT (state_key) DO NOTHING`,
			[row.stateKey, row.source, row.conversationId, row.recordingId, row.stage, jsonb(row.ref ?? {}), nowIso()],
		);
		const stored = await this.getRecording(row.stateKey);
		if (!stored) throw new Error(`Recording ${row.stateKey} vanished from the state store`);
		return stored;
	}

	async getRecording(stateKey: string): Promise<RecordingRow | undefined> {
		const result = await this.query(`SELECT * FROM ${this.t('recordings')} WHERE state_key = $1`, [stateKey]);
		return result.rows[0] ? read.recording(result.rows[0]) : undefined;
	}

	async updateRecording(
		stateKey: string,
		expectedVersion: number,
		patch: Partial<Pick<RecordingRow, 'stage' | 'ref' | 'lmsAssetId'>>,
	): Promise<RecordingRow | undefined> {
		const assignments: string[] = [];
		const values: unknown[] = [];
		const parameter = (value: unknown, cast = ''): string => {
			values.push(value);
			return `$${values.length}${cast}`;
		};
		if (patch.stage !== undefined) assignments.push(`stage = ${parameter(patch.stage)}`);
		if (patch.ref !== undefined) assignments.push(`ref = ${parameter(jsonb(patch.ref), '::jsonb')}`);
		if (patch.lmsAssetId !== undefined) assignments.push(`lms_asset_id = ${parameter(patch.lmsAssetId)}`);
		assignments.push('version = version + 1', `updated_at = ${parameter(nowIso())}`);
		// One statement compares and swaps: the row lock makes a concurrent writer re-check the version and miss.
		const result = await this.query(
			`UPDATE ${this.t('recordings')} SET ${assignments.join(', ')}
			WHERE state_key = ${parameter(stateKey)} AND version = ${parameter(expectedVersion)}
			RETURNING *`,
			values,
		);
		return result.rows[0] ? read.recording(result.rows[0]) : undefined;
	}

	async claimIdempotencyKey(key: string, scope: string): Promise<boolean> {
		const result = await this.query(
			`INSERT INTO ${this.t('idempotency')} (key, scope, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO NOTHING`,
			[key, scope, nowIso()],
		);
		return result.rowCount === 1;
	}

	async hasIdempotencyKey(key: string): Promise<boolean> {
		const result = await this.query(`SELECT 1 FROM ${this.t('idempotency')} WHERE key = $1`, [key]);
		return result.rows.length > 0;
	}

	async addDeadLetter(entry: { stateKey?: string; node: string; error: string; payload: unknown }): Promise<number> {
		const result = await this.query(
			`INSERT INTO ${this.t('dead_letters')} (state_key, node, error, payload, created_at, replayed_at)
			VALUES ($1, $2, $3, $4::jsonb, $5, NULL)
			RETURNING id`,
			[entry.stateKey ?? null, entry.node, entry.error, jsonb(entry.payload), nowIso()],
		);
		return Number(result.rows[0].id);
	}

	async listDeadLetters(options: DeadLetterQuery = {}): Promise<DeadLetter[]> {
		const result = await this.query(
			`SELECT * FROM ${this.t('dead_letters')}
			 WHERE id > $1 AND ($2 OR replayed_at IS NULL) AND ($3::text IS NULL OR node = $3) ORDER BY id LIMIT $4`,
			[options.afterId ?? 0, Boolean(options.includeReplayed), options.node ?? null, clampLimit(options.limit)],
		);
		return result.rows.map((row) => read.deadLetter(row));
	}

	async markDeadLetterReplayed(id: number): Promise<void> {
		const result = await this.query(`UPDATE ${this.t('dead_letters')} SET replayed_at = $1 WHERE id = $2`, [
			nowIso(),
			id,
		]);
		if (result.rowCount === 0) throw new Error(`Dead letter ${id} does not exist`);
	}

	async getDeadLetter(id: number): Promise<DeadLetter | undefined> {
		if (!Number.isSafeInteger(id)) return undefined;
		const result = await this.query(`SELECT * FROM ${this.t('dead_letters')} WHERE id = $1`, [id]);
		return result.rows[0] ? read.deadLetter(result.rows[0]) : undefined;
	}

	async listRecordingsByConversation(conversationId: string): Promise<RecordingRow[]> {
		const result = await this.query(
			`SELECT * FROM ${this.t('recordings')} WHERE conversation_id = $1 ORDER BY created_seq`,
			[conversationId],
		);
		return result.rows.map((row) => read.recording(row));
	}

	async putEvaluation(entry: EvaluationInput): Promise<{ applied: boolean; stored: StoredEvaluation }> {
		const evaluation = normalizeEvaluation(entry);
		// The upsert's WHERE is the revision check, evaluated on the locked current row: concurrent deliveries of
		// different revisions leave the newest, whatever order they commit in. revision compares in "C" collation.
		const written = await this.query(
			`INSERT INTO ${this.t('evaluations')} AS e
				(evaluation_id, source, conversation_id, agent_id, state_key, revision, evaluated_at, payload, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
			ON CONFLICT (evaluation_id) DO UPDATE SET
				source = EXCLUDED.source,
				conversation_id = EXCLUDED.conversation_id,
				agent_id = COALESCE(EXCLUDED.agent_id, e.agent_id),
				state_key = COALESCE(EXCLUDED.state_key, e.state_key),
				revision = EXCLUDED.revision,
				evaluated_at = COALESCE(EXCLUDED.evaluated_at, e.evaluated_at),
				payload = EXCLUDED.payload,
				received_at = EXCLUDED.received_at
			WHERE EXCLUDED.revision > e.revision
			RETURNING *`,
			[
				evaluation.evaluationId,
				evaluation.source,
				evaluation.conversationId,
				evaluation.agentId,
				evaluation.stateKey,
				evaluation.revision,
				evaluation.evaluatedAt,
				jsonb(entry.payload),
				nowIso(),
			],
		);
		if (written.rows[0]) return { applied: true, stored: read.evaluation(written.rows[0]) };
		const stored = await this.getEvaluation(evaluation.evaluationId);
		if (!stored) throw new Error(`Evaluation ${evaluation.evaluationId} vanished from the state store`);
		return { applied: false, stored };
	}

	async getEvaluation(evaluationId: string): Promise<StoredEvaluation | undefined> {
		const result = await this.query(`SELECT * FROM ${this.t('evaluations')} WHERE evaluation_id = $1`, [
			evaluationId,
		]);
		return result.rows[0] ? read.evaluation(result.rows[0]) : undefined;
	}

	async listEvaluationsByConversation(conversationId: string): Promise<StoredEvaluation[]> {
		const result = await this.query(
			`SELECT * FROM ${this.t('evaluations')} WHERE conversation_id = $1
			ORDER BY evaluated_at ASC NULLS LAST, evaluation_id COLLATE "C"`,
			[conversationId],
		);
		return result.rows.map((row) => read.evaluation(row));
	}

	async listEvaluationsByAgent(agentId: string, limit: number): Promise<StoredEvaluation[]> {
		const result = await this.query(
			`SELECT * FROM ${this.t('evaluations')} WHERE agent_id = $1
			ORDER BY evaluated_at DESC NULLS LAST, revision DESC, evaluation_id COLLATE "C"
			LIMIT $2`,
			[agentId, clampLimit(limit)],
		);
		return result.rows.map((row) => read.evaluation(row));
	}

	async linkEvaluation(evaluationId: string, stateKey: string): Promise<void> {
		const result = await this.query(
			`UPDATE ${this.t('evaluations')} SET state_key = $1 WHERE evaluation_id = $2`,
			[stateKey, evaluationId],
		);
		if (result.rowCount === 0) throw new Error(`Evaluation ${evaluationId} does not exist`);
	}

	/**
	 * Atomic across connections and workers. The check spans rows that may not exist yet (any live claim of the
	 * agent newer than the window), which no unique constraint can express and which row locks cannot cover.
	 * Two ways make it safe: SERIALIZABLE (predicate locks; a conflicting transaction aborts with 40001 and must be
	 * retried) or a transaction-scoped advisory lock per agent. This uses the advisory lock
	 * (`pg_advisory_xact_lock(hashtext(<schema>), hashtext(agent_id))`): claims of one agent queue behind each
	 * other and, at READ COMMITTED, each sees the rows the previous one committed, so exactly one wins without
	 * retry loops, without aborts under contention, and without serializing claims of different agents (a hash
	 * collision between two agents only makes them wait for each other, never lets both through). The lock is
	 * released by COMMIT or ROLLBACK, also when the connection dies. The insert itself stays
	 * INSERT … ON CONFLICT DO NOTHING, so the unique claim key holds even against a writer that skips the lock.
	 */
	async claimAssignment(request: ClaimRequest): Promise<ClaimOutcome> {
		const claim = normalizeClaimRequest(request);
		return this.transaction(async (client): Promise<ClaimOutcome> => {
			await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
				`${this.schema}.assignments`,
				claim.agentId,
			]);
			const byKey = async () =>
				(
					await client.query(`SELECT * FROM ${this.t('assignments')} WHERE claim_key = $1 FOR UPDATE`, [
						claim.claimKey,
					])
				).rows[0] as Row | undefined;
			const existing = await byKey();
			if (existing && existing.status !== 'failed') {
				return { outcome: 'existing', claim: read.assignment(existing) };
			}
			const recent = await client.query(
				`SELECT * FROM ${this.t('assignments')}
				WHERE agent_id = $1 AND status IN (${LIVE_STATUS_SQL}) AND created_at > $2
				ORDER BY created_at DESC, id DESC LIMIT 1`,
				[claim.agentId, claim.agentWindowStart],
			);
			if (recent.rows[0]) return { outcome: 'recent_assignment', blocking: read.assignment(recent.rows[0]) };
			const cooling = await client.query(
				`SELECT * FROM ${this.t('assignments')}
				WHERE agent_id = $1 AND module_id = $2 AND status IN (${LIVE_STATUS_SQL}) AND created_at > $3
				ORDER BY created_at DESC, id DESC LIMIT 1`,
				[claim.agentId, claim.moduleId, claim.moduleCooldownStart],
			);
			if (cooling.rows[0]) return { outcome: 'cooldown', blocking: read.assignment(cooling.rows[0]) };

			const written = existing
				? await client.query(
						`UPDATE ${this.t('assignments')} SET
							status = $1, evaluation_id = COALESCE($2, evaluation_id), due_date = $3, window_start = $4,
							target_assignment_id = NULL, created_at = $5, updated_at = $5
						WHERE claim_key = $6 AND status = 'failed'
						RETURNING *`,
						[claim.status, claim.evaluationId, claim.dueDate, claim.agentWindowStart, claim.now, claim.claimKey],
					)
				: await client.query(
						`INSERT INTO ${this.t('assignments')}
							(claim_key, agent_id, module_id, window_start, evaluation_id, status, target_assignment_id,
							due_date, created_at, updated_at)
						VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $8)
						ON CONFLICT (claim_key) DO NOTHING
						RETURNING *`,
						[
							claim.claimKey,
							claim.agentId,
							claim.moduleId,
							claim.agentWindowStart,
							claim.evaluationId,
							claim.status,
							claim.dueDate,
							claim.now,
						],
					);
			if (written.rows[0]) return { outcome: 'claimed', claim: read.assignment(written.rows[0]) };
			// The key was taken meanwhile by a claim under another agent's lock (a key reused across agents).
			const winner = await byKey();
			if (!winner) throw new Error(`Claim ${claim.claimKey} could be neither inserted nor read`);
			return { outcome: 'existing', claim: read.assignment(winner) };
		});
	}

	async updateAssignment(
		claimKey: string,
		patch: { status: AssignmentStatus; targetAssignmentId?: string; dueDate?: string },
	): Promise<AssignmentClaim | undefined> {
		const status = assertAssignmentStatus(patch.status);
		const result = await this.query(
			`UPDATE ${this.t('assignments')} SET
				status = $1,
				target_assignment_id = COALESCE($2, target_assignment_id),
				due_date = COALESCE($3, due_date),
				updated_at = $4
			WHERE claim_key = $5
			RETURNING *`,
			[status, patch.targetAssignmentId ?? null, patch.dueDate ?? null, nowIso(), claimKey],
		);
		return result.rows[0] ? read.assignment(result.rows[0]) : undefined;
	}

	async getAssignment(claimKey: string): Promise<AssignmentClaim | undefined> {
		const result = await this.query(`SELECT * FROM ${this.t('assignments')} WHERE claim_key = $1`, [claimKey]);
		return result.rows[0] ? read.assignment(result.rows[0]) : undefined;
	}

	async listAssignmentsByAgent(agentId: string, sinceIso: string): Promise<AssignmentClaim[]> {
		const since = normalizeInstant(sinceIso, 'sinceIso');
		const result = await this.query(
			`SELECT * FROM ${this.t('assignments')} WHERE agent_id = $1 AND created_at >= $2
			ORDER BY created_at DESC, id DESC`,
			[agentId, since],
		);
		return result.rows.map((row) => read.assignment(row));
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		await this.pool.end();
	}

	private t(table: string): string {
		return `${this.qualified}.${table}`;
	}

	private assertOpen(): void {
		if (this.closed) throw new Error(`The PostgreSQL state store (schema ${this.schema}) is closed`);
	}

	private async query(sql: string, values: unknown[] = []) {
		this.assertOpen();
		return await this.pool.query(sql, values);
	}

	private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
		this.assertOpen();
		const client = await this.pool.connect();
		let broken: Error | undefined;
		try {
			await client.query('BEGIN');
			try {
				const result = await work(client);
				await client.query('COMMIT');
				return result;
			} catch (error) {
				try {
					await client.query('ROLLBACK');
				} catch (rollbackError) {
					// A connection that cannot roll back is discarded instead of returned to the pool.
					broken = rollbackError as Error;
				}
				throw error;
			}
		} finally {
			client.release(broken);
		}
	}

	private async migrate(migrations: readonly Migration[]): Promise<void> {
		await this.transaction(async (client) => {
			// Workers starting at once migrate one after the other; DDL is transactional, so a failed step leaves
			// neither its tables nor its version behind.
			await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
				'cx_training.migrate',
				this.schema,
			]);
			// CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS: a schema prepared by an
			// administrator must be usable by a role without that right.
			const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
			if (found.rows.length === 0) await client.query(`CREATE SCHEMA ${this.qualified}`);
			await client.query(
				`CREATE TABLE IF NOT EXISTS ${this.t(MIGRATIONS_TABLE)} (
					version integer PRIMARY KEY,
					name text NOT NULL,
					applied_at timestamptz NOT NULL
				)`,
			);
			const applied = new Set(
				(await client.query(`SELECT version FROM ${this.t(MIGRATIONS_TABLE)}`)).rows.map((row) =>
					Number(row.version),
				),
			);
			for (const migration of pendingMigrations(migrations, applied)) {
				for (const sql of migration.statements) await client.query(sql);
				await client.query(`INSERT INTO ${this.t(MIGRATIONS_TABLE)} (version, name, applied_at) VALUES ($1, $2, $3)`, [
					migration.version,
					migration.name,
					nowIso(),
				]);
			}
		});
	}
}
