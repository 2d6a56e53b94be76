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
	listDeadLetters(options?: { includeReplayed?: boolean; limit?: number }): Promise<DeadLetter[]>;
	markDeadLetterReplayed(id: number): Promise<void>;
	close(): Promise<void>;
}
