/** One numbered schema step. Applied in order, each exactly once, inside one transaction. */
export interface Migration {
	version: number;
	name: string;
	statements: string[];
}

/** Table that records which migrations a database file has already received. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * SQLite schema of the pipeline state (DESIGN.md §3). Append new migrations; never edit one that has shipped,
 * because existing state files have already recorded it as applied.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: 'initial pipeline state',
		statements: [
			`CREATE TABLE recordings (
				state_key TEXT PRIMARY KEY,
				source TEXT NOT NULL,
				conversation_id TEXT NOT NULL,
				recording_id TEXT NOT NULL,
				stage TEXT NOT NULL,
				ref_json TEXT NOT NULL,
				lms_asset_id TEXT,
				version INTEGER NOT NULL DEFAULT 1,
				updated_at TEXT NOT NULL
			)`,
			'CREATE INDEX recordings_conversation ON recordings (conversation_id)',
			'CREATE INDEX recordings_stage ON recordings (stage)',
			// Evaluations can arrive before their recording; state_key is filled once the recording is known.
			`CREATE TABLE evaluations (
				evaluation_id TEXT PRIMARY KEY,
				state_key TEXT,
				conversation_id TEXT NOT NULL,
				agent_id TEXT,
				payload_json TEXT NOT NULL,
				received_at TEXT NOT NULL
			)`,
			'CREATE INDEX evaluations_conversation ON evaluations (conversation_id)',
			'CREATE INDEX evaluations_state_key ON evaluations (state_key)',
			// claim_key is agent/module/window: the unique constraint is what stops two workers both assigning.
			`CREATE TABLE assignments (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				claim_key TEXT NOT NULL UNIQUE,
				agent_id TEXT NOT NULL,
				module_id TEXT NOT NULL,
				window_start TEXT NOT NULL,
				evaluation_id TEXT,
				status TEXT NOT NULL,
				created_at TEXT NOT NULL
			)`,
			'CREATE INDEX assignments_agent ON assignments (agent_id, window_start)',
			`CREATE TABLE dead_letters (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				state_key TEXT,
				node TEXT NOT NULL,
				error TEXT NOT NULL,
				payload_json TEXT NOT NULL,
				created_at TEXT NOT NULL,
				replayed_at TEXT
			)`,
			'CREATE INDEX dead_letters_pending ON dead_letters (replayed_at, id)',
			`CREATE TABLE idempotency (
				key TEXT PRIMARY KEY,
				scope TEXT NOT NULL,
				created_at TEXT NOT NULL
			)`,
		],
	},
];
