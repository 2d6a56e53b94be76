import type { ObjectPointer, RecordingRef } from '../recordingRef';

/** What LMS Push hands to a target for stage 1 (a private placeholder asset). */
export interface PlaceholderAsset {
	ref: RecordingRef;
	title: string;
	description: string;
	tags: string[];
	/** A stable link for learners (player page); signed media links go into mutable asset state instead. */
	moreInfoUrl?: string;
	/** A signed link to the staged media and when it stops working, kept in the asset's mutable state. */
	mediaLink?: { url: string; expiresAt: string; object: ObjectPointer };
}

export interface PushResult {
	target: string;
	assetId: string;
	statementIds: string[];
	/** False when the target already held this asset (a retry or a redelivered event). */
	created: boolean;
	stage: 'placeholder' | 'final' | 'quarantined';
	details: Record<string, unknown>;
}

/**
 * What LMS Push hands to a target for stage 2: the placeholder's content plus the evaluation and the
 * taxonomy. `revision` orders updates: a target never lets a lower revision overwrite a higher one.
 */
export interface FinalAsset extends PlaceholderAsset {
	evaluation: NonNullable<RecordingRef['evaluation']>;
	revision: string;
	category?: string;
	assetType?: string;
	courseId?: string;
	/** Public only when the PII scan was clean and the taxonomy allows it; private otherwise. */
	visibility: 'private' | 'public';
}

/** The asset as the target holds it now (found by our external id). */
export interface AssetSnapshot {
	assetId: string;
	stage: 'placeholder' | 'final' | 'quarantined';
	/** Revision of the evaluation the asset shows, if any. */
	revision?: string;
	evaluationId?: string;
	visibility: 'private' | 'public';
	statementIds: string[];
}

export interface AssigneeRef {
	id: string;
	email?: string;
	name?: string;
}

export interface AssignmentRequest {
	/** Deterministic id (UUIDv5 of agent + module + evaluation): a retry finds the assignment it made. */
	assignmentId: string;
	agent: AssigneeRef;
	moduleId: string;
	/** Calendar date (YYYY-MM-DD) and the instant at the end of that day in the agent's time zone. */
	dueDate: string;
	dueAt: string;
	evaluationId: string;
	conversationId: string;
	reason: string;
	/** Learning asset (the recording) to link from the assignment, when the target can. */
	assetId?: string;
}

export interface TargetAssignment {
	assignmentId: string;
	moduleId: string;
	assignedAt: string;
	/** started/completed assignments are never replaced or unassigned. */
	state: 'assigned' | 'started' | 'completed' | 'unknown';
	dueDate?: string;
}

export interface AssignResult {
	target: string;
	assignmentId: string;
	/** False when the target already held this assignment (a retry). */
	created: boolean;
	state: TargetAssignment['state'];
	details: Record<string, unknown>;
}

/** One interface for every LMS target (xAPI LRS first; Genesys Cloud Learning, generic REST, Docebo, Moodle, … later). */
export interface LmsAdapter {
	readonly target: string;
	/** Stage 1: a private placeholder; a retry changes nothing; never downgrades a final asset. */
	pushPlaceholder(asset: PlaceholderAsset, signal?: AbortSignal): Promise<PushResult>;
	/** Stage 2: creates or updates the final asset; a revision at or below the stored one is a no-op (`created: false`, details.stale). */
	pushFinal(asset: FinalAsset, signal?: AbortSignal): Promise<PushResult>;
	/** The evaluation behind the final asset was retracted: back to private, score removed, its statement voided. */
	retractEvaluation(asset: PlaceholderAsset, evaluationId: string, revision: string, signal?: AbortSignal): Promise<PushResult>;
	/** Looks the asset up by our external id (the recording); undefined when the target has none. */
	findAsset(ref: RecordingRef, signal?: AbortSignal): Promise<AssetSnapshot | undefined>;
	/** Creates the assignment unless one with this id exists; never touches a started or completed one. */
	assign(request: AssignmentRequest, signal?: AbortSignal): Promise<AssignResult>;
	/** The agent's assignments the target knows of, since an instant (the LMS's own history for the guardrail). */
	listAssignments(agent: AssigneeRef, sinceIso: string, signal?: AbortSignal): Promise<TargetAssignment[]>;
}

export type { RecordingRef };
