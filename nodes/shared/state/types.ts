import type { RecordingRef } from '../recordingRef';

export type RecordingStage =
	| 'discovered'
	| 'staging'
	| 'staged'
	| 'not_ready'
	| 'restoring'
	| 'failed'
	| 'pushed_placeholder'
	| 'pushed_final'
	| 'quarantined';

export interface RecordingRow {
	stateKey: string;
	source: string;
	conversationId: string;
	recordingId: string;
	stage: RecordingStage;
	/** The RecordingRef as last written (never media, never secrets). */
	ref: Partial<RecordingRef>;
	lmsAssetId?: string | null;
	version: number;
	updatedAt: string;
}

export interface DeadLetter {
	id: number;
	stateKey: string | null;
	node: string;
	error: string;
	payload: unknown;
	createdAt: string;
	replayedAt: string | null;
}

/** An evaluation kept until (and after) its recording's asset exists; the latest revision wins. */
export interface DeadLetterQuery {
	includeReplayed?: boolean;
	limit?: number;
	node?: string;
	afterId?: number;
}

export interface StoredEvaluation {
	evaluationId: string;
	source: string;
	conversationId: string;
	agentId: string | null;
	/** The recording it completed, once known. */
	stateKey: string | null;
	/**
	 * Comparable revision (ISO time of the evaluation's last change). ISO times are stored normalized to
	 * `Date#toISOString()` form, so `…10:00:00Z` and `…10:00:00.000Z` are the same revision; any other string
	 * compares as text (code-point order).
	 */
	revision: string;
	evaluatedAt: string | null;
	/** The EvaluationItem as last written. */
	payload: unknown;
	receivedAt: string;
}

/** An evaluation as delivered to putEvaluation. */
export interface EvaluationInput {
	evaluationId: string;
	source: string;
	conversationId: string;
	agentId?: string;
	stateKey?: string;
	revision: string;
	evaluatedAt?: string;
	payload: unknown;
}

export type AssignmentStatus = 'claimed' | 'assigned' | 'approval_pending' | 'failed';

/** One row of the guardrail ledger. */
export interface AssignmentClaim {
	claimKey: string;
	agentId: string;
	moduleId: string;
	evaluationId: string | null;
	status: AssignmentStatus;
	/** The assignment's id at the target once assigned. */
	targetAssignmentId: string | null;
	dueDate: string | null;
	createdAt: string;
	updatedAt: string;
}

/**
 * Its instants must parse as dates (else the claim is rejected with an error); they are stored and compared as
 * UTC instants, whatever offset or precision the caller wrote them in.
 */
export interface ClaimRequest {
	/** Deterministic: the same evaluation and module always yield the same key (a retry finds its own claim). */
	claimKey: string;
	agentId: string;
	moduleId: string;
	evaluationId?: string;
	dueDate?: string;
	status?: Extract<AssignmentStatus, 'claimed' | 'approval_pending'>;
	/** Any live claim of this agent created after this instant blocks the claim (frequency window). */
	agentWindowStart: string;
	/** Any live claim of this agent and module created after this instant blocks the claim (module cooldown). */
	moduleCooldownStart: string;
	/** Defaults to the current time; tests pass a fixed clock. */
	now?: string;
}

export type ClaimOutcome =
	| { outcome: 'claimed'; claim: AssignmentClaim }
	/** This claim key exists already (a retry or a redelivery): the caller finishes what it started, once. */
	| { outcome: 'existing'; claim: AssignmentClaim }
	| { outcome: 'recent_assignment' | 'cooldown'; blocking: AssignmentClaim };

/**
 * Pipeline state (DESIGN.md §3). SQLite by default; a PostgreSQL driver implements the same interface.
 * Claims are insert-if-absent; updates are compare-and-swap on `version`.
 */
export interface StateStore {
	readonly driver: 'sqlite' | 'postgres';
	/** Creates the row if absent; returns the current row either way. */
	upsertRecording(
		row: Pick<RecordingRow, 'stateKey' | 'source' | 'conversationId' | 'recordingId' | 'stage' | 'ref'>,
	): Promise<RecordingRow>;
	getRecording(stateKey: string): Promise<RecordingRow | undefined>;
	/** Compare-and-swap update: applies only when the stored version equals `expectedVersion`. */
	updateRecording(
		stateKey: string,
		expectedVersion: number,
		patch: Partial<Pick<RecordingRow, 'stage' | 'ref' | 'lmsAssetId'>>,
	): Promise<RecordingRow | undefined>;
	/** Records a side effect's key; true when this call claimed it first, false when it was already done. */
	claimIdempotencyKey(key: string, scope: string): Promise<boolean>;
	hasIdempotencyKey(key: string): Promise<boolean>;
	addDeadLetter(entry: { stateKey?: string; node: string; error: string; payload: unknown }): Promise<number>;
	/** Oldest first; `node` keeps one node's letters, `afterId` pages on from the last id seen. */
	listDeadLetters(options?: DeadLetterQuery): Promise<DeadLetter[]>;
	markDeadLetterReplayed(id: number): Promise<void>;
	getDeadLetter(id: number): Promise<DeadLetter | undefined>;

	/** Recordings of one conversation (transfers: several agents), oldest first. */
	listRecordingsByConversation(conversationId: string): Promise<RecordingRow[]>;

	/**
	 * Inserts or replaces an evaluation; a revision lower than the stored one changes nothing.
	 * `applied` is false when the stored revision was newer or equal (a duplicate or an out-of-order delivery).
	 * A newer revision that omits agentId, stateKey or evaluatedAt keeps the stored values; `stored` is the row
	 * as it is after the call either way. Atomic: two writers racing with different revisions leave the newest.
	 */
	putEvaluation(entry: EvaluationInput): Promise<{ applied: boolean; stored: StoredEvaluation }>;
	getEvaluation(evaluationId: string): Promise<StoredEvaluation | undefined>;
	/** Oldest first by evaluatedAt (evaluations without one last), then by evaluationId. */
	listEvaluationsByConversation(conversationId: string): Promise<StoredEvaluation[]>;
	/** The agent's evaluations, newest first by evaluatedAt (then revision). */
	listEvaluationsByAgent(agentId: string, limit: number): Promise<StoredEvaluation[]>;
	/** Records the recording an evaluation completed; rejects when the evaluation does not exist. */
	linkEvaluation(evaluationId: string, stateKey: string): Promise<void>;

	/**
	 * The guardrail's atomic claim: in one transaction, refuses when a live claim (claimed, approval_pending,
	 * assigned) of the agent is newer than `agentWindowStart` or of the agent+module newer than
	 * `moduleCooldownStart`, else inserts. Two workers racing for one agent: exactly one gets `claimed`.
	 * A `failed` claim with the same key is revived (a replay after a target failure).
	 *
	 * Order of the checks: a live claim with this key → `existing` (a retry finds its own claim even inside the
	 * window); then the agent window → `recent_assignment`; then the module cooldown → `cooldown` (`blocking` is
	 * the newest blocking claim); then a `failed` claim with this key is revived (new status, createdAt = now,
	 * target id cleared) or a new claim inserted → `claimed`. "Newer than" is strict: a claim created exactly at
	 * the window start does not block.
	 */
	claimAssignment(request: ClaimRequest): Promise<ClaimOutcome>;
	/** Sets the status (and the target id / due date when given); undefined when the claim does not exist. */
	updateAssignment(
		claimKey: string,
		patch: { status: AssignmentStatus; targetAssignmentId?: string; dueDate?: string },
	): Promise<AssignmentClaim | undefined>;
	getAssignment(claimKey: string): Promise<AssignmentClaim | undefined>;
	/** The agent's claims created at or after `sinceIso`, newest first. */
	listAssignmentsByAgent(agentId: string, sinceIso: string): Promise<AssignmentClaim[]>;

	close(): Promise<void>;
}
