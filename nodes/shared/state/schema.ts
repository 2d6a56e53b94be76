/** One numbered schema step. Applied in order, each exactly once, inside one transaction. */
export interface Migration {
	version: number;
	name: string;
	statements: string[];
}

/** The migrations not yet in `applied`, in version order. */
export function pendingMigrations(migrations: readonly Migration[], applied: ReadonlySet<number>): Migration[] {
	return migrations.filter((migration) => !applied.has(migration.version)).sort((a, b) => a.version - b.version);
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
	{
		version: 2,
		name: 'evaluation revisions and the assignment ledger',
		statements: [
			// Rows written before this step have no revision: '' sorts before any real one, so the next delivery wins.
			"ALTER TABLE evaluations ADD COLUMN source TEXT NOT NULL DEFAULT ''",
			"ALTER TABLE evaluations ADD COLUMN revision TEXT NOT NULL DEFAULT ''",
			'ALTER TABLE evaluations ADD COLUMN evaluated_at TEXT',
			'CREATE INDEX evaluations_agent ON evaluations (agent_id, evaluated_at)',
			'ALTER TABLE assignments ADD COLUMN target_assignment_id TEXT',
			'ALTER TABLE assignments ADD COLUMN due_date TEXT',
			'ALTER TABLE assignments ADD COLUMN updated_at TEXT',
			'UPDATE assignments SET updated_at = created_at WHERE updated_at IS NULL',
			// The claim checks look for live claims of an agent (and of an agent+module) newer than an instant.
			'DROP INDEX assignments_agent',
			'CREATE INDEX assignments_agent_created ON assignments (agent_id, created_at)',
			'CREATE INDEX assignments_agent_module_created ON assignments (agent_id, module_id, created_at)',
		],
	},
];

/**
 * PostgreSQL schema of the pipeline state, inside its own schema (`qualified` is the quoted schema name, already
 * validated). Same tables as SQLite, with native types: jsonb payloads, timestamptz instants, and text columns
 * that are compared (revisions) in the "C" collation so they order by code point exactly as SQLite does.
 * Append new migrations; never edit one that has shipped.
 */
export function postgresMigrations(qualified: string): Migration[] {
	const t = (table: string) => `${qualified}.${table}`;
	return [
		{
			version: 1,
			name: 'initial pipeline state',
			statements: [
				`CREATE TABLE ${t('recordings')} (
					state_key text PRIMARY KEY,
					source text NOT NULL,
					conversation_id text NOT NULL,
					recording_id text NOT NULL,
					stage text NOT NULL,
					ref jsonb NOT NULL,
					lms_asset_id text,
					version integer NOT NULL DEFAULT 1,
					created_seq bigint GENERATED ALWAYS AS IDENTITY,
					updated_at timestamptz NOT NULL
				)`,
				`CREATE INDEX recordings_conversation ON ${t('recordings')} (conversation_id, created_seq)`,
				`CREATE INDEX recordings_stage ON ${t('recordings')} (stage)`,
				`CREATE TABLE ${t('evaluations')} (
					evaluation_id text PRIMARY KEY,
					source text NOT NULL,
					state_key text,
					conversation_id text NOT NULL,
					agent_id text,
					revision text COLLATE "C" NOT NULL,
					evaluated_at timestamptz,
					payload jsonb NOT NULL,
					received_at timestamptz NOT NULL
				)`,
				`CREATE INDEX evaluations_conversation ON ${t('evaluations')} (conversation_id)`,
				`CREATE INDEX evaluations_state_key ON ${t('evaluations')} (state_key)`,
				`CREATE INDEX evaluations_agent ON ${t('evaluations')} (agent_id, evaluated_at)`,
				`CREATE TABLE ${t('assignments')} (
					id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
					claim_key text NOT NULL UNIQUE,
					agent_id text NOT NULL,
					module_id text NOT NULL,
					window_start timestamptz NOT NULL,
					evaluation_id text,
					status text NOT NULL,
					target_assignment_id text,
					due_date text,
					created_at timestamptz NOT NULL,
					updated_at timestamptz NOT NULL
				)`,
				`CREATE INDEX assignments_agent_created ON ${t('assignments')} (agent_id, created_at)`,
				`CREATE INDEX assignments_agent_module_created ON ${t('assignments')} (agent_id, module_id, created_at)`,
				`CREATE TABLE ${t('dead_letters')} (
					id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
					state_key text,
					node text NOT NULL,
					error text NOT NULL,
					payload jsonb NOT NULL,
					created_at timestamptz NOT NULL,
					replayed_at timestamptz
				)`,
				`CREATE INDEX dead_letters_pending ON ${t('dead_letters')} (replayed_at, id)`,
				`CREATE TABLE ${t('idempotency')} (
					key text PRIMARY KEY,
					scope text NOT NULL,
					created_at timestamptz NOT NULL
				)`,
			],
		},
	];
}
