import type {
	AssignmentClaim,
	AssignmentStatus,
	ClaimRequest,
	DeadLetter,
	EvaluationInput,
	RecordingRow,
	RecordingStage,
	StoredEvaluation,
} from './types';

/** Rules both drivers share, so SQLite and PostgreSQL answer every call the same way. */

/** Claims that still count against the frequency window and the module cooldown. */
export const LIVE_ASSIGNMENT_STATUSES: readonly AssignmentStatus[] = [
	'claimed',
	'approval_pending',
	'assigned',
];

const ASSIGNMENT_STATUSES: readonly AssignmentStatus[] = [...LIVE_ASSIGNMENT_STATUSES, 'failed'];

/** `status IN (…)` for the claim checks; the statuses are constants, never input. */
export const LIVE_STATUS_SQL = LIVE_ASSIGNMENT_STATUSES.map((status) => `'${status}'`).join(', ');

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10000;

export function clampLimit(limit: number | undefined, fallback = DEFAULT_LIST_LIMIT): number {
	const requested = Math.floor(limit ?? fallback);
	return Math.min(MAX_LIST_LIMIT, Math.max(1, Number.isFinite(requested) ? requested : 1));
}

export function nowIso(): string {
	return new Date().toISOString();
}

/**
 * JSON for payloads of unknown shape: cycles and bigints must not turn a failure into a crash. `stripNul`
 * replaces NUL characters in strings, which PostgreSQL's jsonb cannot hold.
 */
export function toLenientJson(value: unknown, options: { stripNul?: boolean } = {}): string {
	const seen = new WeakSet<object>();
	const json = JSON.stringify(value ?? null, (_key, item: unknown) => {
		if (typeof item === 'bigint') return item.toString();
		if (typeof item === 'string' && options.stripNul && item.includes('\u0000')) {
			return item.split('\u0000').join('\uFFFD');
		}
		if (typeof item === 'object' && item !== null) {
			if (seen.has(item)) return '[Circular]';
			seen.add(item);
		}
		return item;
	});
	return json ?? 'null';
}

function requireText(value: unknown, name: string): string {
	if (typeof value !== 'string' || value.trim() === '') {
		throw new Error(`${name} must be a non-empty string`);
	}
	return value;
}

/** An instant as `Date#toISOString()`, so stored times compare correctly as text and as timestamps. */
export function normalizeInstant(value: unknown, name: string): string {
	const text = requireText(value, name);
	const time = Date.parse(text);
	if (!Number.isFinite(time)) throw new Error(`${name} is not a valid date: ${JSON.stringify(text)}`);
	return new Date(time).toISOString();
}

export function optionalInstant(value: unknown, name: string): string | null {
	return value === undefined || value === null || value === '' ? null : normalizeInstant(value, name);
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** ISO times become their canonical form (one instant, one revision); other revisions are kept as given. */
export function normalizeRevision(value: unknown): string {
	const text = requireText(value, 'revision');
	if (ISO_DATE_TIME.test(text)) {
		const time = Date.parse(text);
		if (Number.isFinite(time)) return new Date(time).toISOString();
	}
	return text;
}

export interface NormalizedEvaluation {
	evaluationId: string;
	source: string;
	conversationId: string;
	agentId: string | null;
	stateKey: string | null;
	revision: string;
	evaluatedAt: string | null;
}

export function normalizeEvaluation(entry: Omit<EvaluationInput, 'payload'>): NormalizedEvaluation {
	return {
		evaluationId: requireText(entry.evaluationId, 'evaluationId'),
		source: requireText(entry.source, 'source'),
		conversationId: requireText(entry.conversationId, 'conversationId'),
		agentId: entry.agentId || null,
		stateKey: entry.stateKey || null,
		revision: normalizeRevision(entry.revision),
		evaluatedAt: optionalInstant(entry.evaluatedAt, 'evaluatedAt'),
	};
}

export interface NormalizedClaim {
	claimKey: string;
	agentId: string;
	moduleId: string;
	evaluationId: string | null;
	dueDate: string | null;
	status: 'claimed' | 'approval_pending';
	agentWindowStart: string;
	moduleCooldownStart: string;
	now: string;
}

export function normalizeClaimRequest(request: ClaimRequest): NormalizedClaim {
	const status = request.status ?? 'claimed';
	if (status !== 'claimed' && status !== 'approval_pending') {
		throw new Error(`A claim starts as "claimed" or "approval_pending", not ${JSON.stringify(status)}`);
	}
	return {
		claimKey: requireText(request.claimKey, 'claimKey'),
		agentId: requireText(request.agentId, 'agentId'),
		moduleId: requireText(request.moduleId, 'moduleId'),
		evaluationId: request.evaluationId || null,
		dueDate: request.dueDate || null,
		status,
		agentWindowStart: normalizeInstant(request.agentWindowStart, 'agentWindowStart'),
		moduleCooldownStart: normalizeInstant(request.moduleCooldownStart, 'moduleCooldownStart'),
		now: request.now === undefined ? nowIso() : normalizeInstant(request.now, 'now'),
	};
}

export function assertAssignmentStatus(status: unknown): AssignmentStatus {
	if (!ASSIGNMENT_STATUSES.includes(status as AssignmentStatus)) {
		throw new Error(`Unknown assignment status ${JSON.stringify(status)}`);
	}
	return status as AssignmentStatus;
}

/** A row as either driver returns it. */
export type Row = Record<string, unknown>;

export function textOrNull(value: unknown): string | null {
	return value === null || value === undefined ? null : String(value);
}

/** An instant column: PostgreSQL returns a Date, SQLite the ISO text it stored. */
function instant(value: unknown): string {
	return value instanceof Date ? value.toISOString() : String(value);
}

function instantOrNull(value: unknown): string | null {
	return value === null || value === undefined ? null : instant(value);
}

/** Reads a JSON column: SQLite keeps text in `<name>_json`, PostgreSQL returns the jsonb `<name>` parsed. */
export type JsonColumn = (row: Row, name: 'ref' | 'payload') => unknown;

/** Row → domain object mappers; the drivers differ only in how they read JSON columns. */
export function rowReaders(json: JsonColumn) {
	return {
		recording: (row: Row): RecordingRow => ({
			stateKey: String(row.state_key),
			source: String(row.source),
			conversationId: String(row.conversation_id),
			recordingId: String(row.recording_id),
			stage: String(row.stage) as RecordingStage,
			ref: (json(row, 'ref') ?? {}) as RecordingRow['ref'],
			lmsAssetId: textOrNull(row.lms_asset_id),
			version: Number(row.version),
			updatedAt: instant(row.updated_at),
		}),
		deadLetter: (row: Row): DeadLetter => ({
			id: Number(row.id),
			stateKey: textOrNull(row.state_key),
			node: String(row.node),
			error: String(row.error),
			payload: json(row, 'payload') ?? null,
			createdAt: instant(row.created_at),
			replayedAt: instantOrNull(row.replayed_at),
		}),
		evaluation: (row: Row): StoredEvaluation => ({
			evaluationId: String(row.evaluation_id),
			source: String(row.source),
			conversationId: String(row.conversation_id),
			agentId: textOrNull(row.agent_id),
			stateKey: textOrNull(row.state_key),
			revision: String(row.revision),
			evaluatedAt: instantOrNull(row.evaluated_at),
			payload: json(row, 'payload') ?? null,
			receivedAt: instant(row.received_at),
		}),
		assignment: (row: Row): AssignmentClaim => ({
			claimKey: String(row.claim_key),
			agentId: String(row.agent_id),
			moduleId: String(row.module_id),
			evaluationId: textOrNull(row.evaluation_id),
			status: String(row.status) as AssignmentStatus,
			targetAssignmentId: textOrNull(row.target_assignment_id),
			dueDate: textOrNull(row.due_date),
			createdAt: instant(row.created_at),
			// Rows claimed before the column existed were back-filled, but a missing value still reads as created_at.
			updatedAt: instant(row.updated_at ?? row.created_at),
		}),
	};
}
