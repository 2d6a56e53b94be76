import type { FinalAsset, RecordingRef } from './types';

/** Rules every LMS target applies the same way: revision order, quarantine, visibility and stale updates. */

/** Status of an asset whose evaluation was withdrawn: private, unscored, the revision kept. */
export const RETRACTED_STATUS = 'evaluation_retracted';

/**
 * Orders evaluation revisions: ISO times of the last change compare as instants, numbers as numbers,
 * anything else as strings. Negative when `a` is older than `b`.
 */
export function compareRevisions(a: string, b: string): number {
	const iso = /^\d{4}-\d{2}-\d{2}/;
	if (iso.test(a) && iso.test(b)) {
		const ta = Date.parse(a);
		const tb = Date.parse(b);
		if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
	}
	if (/^\d+(\.\d+)?$/.test(a) && /^\d+(\.\d+)?$/.test(b)) return Number(a) - Number(b);
	return a < b ? -1 : a > b ? 1 : 0;
}

/** PII found or unsure, or a platform sensitive-data flag: the asset is quarantined (private, never public; DESIGN.md §6). */
export function isQuarantined(ref: RecordingRef): boolean {
	return ref.pii?.verdict === 'found' || ref.pii?.verdict === 'unsure' || ref.platformFlags?.sensitiveData === true;
}

/** Public only when the scan was clean, the platform flagged nothing and the taxonomy asks for it. */
export function visibilityOf(ref: Partial<RecordingRef>, taxonomy: { visibility?: 'private' | 'public' } | undefined): 'private' | 'public' {
	if (taxonomy?.visibility !== 'public') return 'private';
	if (ref.pii?.verdict !== 'clean') return 'private';
	if (ref.platformFlags?.sensitiveData || ref.platformFlags?.securePause) return 'private';
	return 'public';
}

/** The visibility a final asset may get: what it asks for, held back by `visibilityOf`. */
export function finalVisibility(asset: Pick<FinalAsset, 'ref' | 'visibility'>): 'private' | 'public' {
	return visibilityOf(asset.ref, { visibility: asset.visibility });
}

/** What a target keeps about the evaluation an asset shows. */
export interface StoredEvaluationState {
	evaluationId?: string | null;
	revision?: string | null;
	status?: string;
}

export type StaleReason = 'older_revision' | 'same_revision' | 'other_evaluation' | 'already_retracted';

/** A final push changes nothing when the asset already shows this revision or a newer one; undefined when it applies. */
export function staleFinal(stored: StoredEvaluationState | undefined, revision: string): StaleReason | undefined {
	if (!stored?.revision) return undefined;
	const order = compareRevisions(revision, stored.revision);
	if (order < 0) return 'older_revision';
	if (order === 0) return stored.status === RETRACTED_STATUS ? 'already_retracted' : 'same_revision';
	return undefined;
}

/**
 * A retraction applies to the evaluation the asset shows (or to an asset without one), at or above its
 * revision; at the same revision only once (a deleted evaluation does not always get a new change time).
 * Undefined when it applies.
 */
export function staleRetraction(stored: StoredEvaluationState | undefined, evaluationId: string, revision: string): StaleReason | undefined {
	if (!stored) return undefined;
	if (stored.evaluationId && stored.evaluationId !== evaluationId) return 'other_evaluation';
	if (!stored.revision) return undefined;
	const order = compareRevisions(revision, stored.revision);
	if (order < 0) return 'older_revision';
	if (order === 0 && stored.status === RETRACTED_STATUS) return 'already_retracted';
	return undefined;
}
