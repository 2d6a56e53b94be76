import type { EvaluationItem, RecordingRef } from '../recordingRef';
import type { RecordingRow, RecordingStage, StateStore, StoredEvaluation } from '../state/types';
import { compareRevisions, visibilityOf } from './assetRules';
import type { FinalAsset, LmsAdapter, PlaceholderAsset, PushResult } from './types';

/**
 * The two halves of the loop meet here (DESIGN.md §3): whichever arrives second completes the asset.
 * The recording half pushes a placeholder, then finishes it at once when its evaluation is already stored;
 * the evaluation half stores the evaluation, then finishes every asset of that conversation and agent.
 */

export function revisionOf(item: EvaluationItem): string {
	return item.evaluation.revision ?? item.evaluation.evaluatedAt ?? '';
}

/** Builds stage 2 from the recording's asset description and the evaluation (with Taxonomy Map's choices). */
export function finalAssetFor(base: PlaceholderAsset, item: EvaluationItem): FinalAsset {
	const taxonomy = item.taxonomy ?? base.ref.taxonomy;
	const tags = [...new Set([...(base.tags ?? []), ...(taxonomy?.tags ?? [])])];
	return {
		...base,
		ref: { ...base.ref, evaluation: item.evaluation, ...(taxonomy ? { taxonomy } : {}) },
		tags,
		evaluation: item.evaluation,
		revision: revisionOf(item),
		category: taxonomy?.category,
		assetType: taxonomy?.assetType,
		courseId: taxonomy?.courseId,
		visibility: visibilityOf(base.ref, taxonomy),
	};
}

/** An evaluation belongs to a recording of the same conversation and agent (transfers have several agents). */
export function belongsTo(item: Pick<EvaluationItem, 'conversationId' | 'agentId'>, ref: Pick<RecordingRef, 'conversationId' | 'agent'>): boolean {
	return item.conversationId === ref.conversationId && (!item.agentId || !ref.agent?.id || item.agentId === ref.agent.id);
}

/** The newest stored evaluation for this recording, if any. */
export function latestEvaluationFor(ref: RecordingRef, stored: StoredEvaluation[]): EvaluationItem | undefined {
	const matching = stored
		.map((row) => ({ row, item: row.payload as EvaluationItem }))
		.filter(({ item }) => item?.evaluation && belongsTo(item, ref))
		.sort((a, b) => compareRevisions(b.row.revision, a.row.revision));
	return matching[0]?.item;
}

/** Applies a retraction or a (re)score to one asset at the target. */
export async function pushEvaluation(adapter: LmsAdapter, base: PlaceholderAsset, item: EvaluationItem, signal?: AbortSignal): Promise<PushResult> {
	if (item.training?.retracted) {
		return await adapter.retractEvaluation(base, item.evaluation.id, revisionOf(item), signal);
	}
	return await adapter.pushFinal(finalAssetFor(base, item), signal);
}

/** Whether an evaluation should become the asset's score (retractions are applied too, to withdraw it). */
export function appliesToAsset(item: EvaluationItem, options: { includeUnreleased?: boolean } = {}): boolean {
	if (item.training?.retracted) return true;
	if (item.evaluation.status && item.evaluation.status !== 'FINISHED') return false;
	return Boolean(options.includeUnreleased) || item.evaluation.released;
}

/**
 * Compare-and-swap update of a recording row, retried when another worker wrote in between. `known` is a row the
 * caller has just read or written: the first attempt starts from it instead of creating or reading the row again
 * (a stale one only costs a re-read).
 */
export async function recordStage(
	state: StateStore,
	ref: RecordingRef,
	stage: RecordingStage,
	patch: { lmsAssetId?: string; ref?: Partial<RecordingRef> } = {},
	known?: RecordingRow,
): Promise<RecordingRow | undefined> {
	let current: RecordingRow | undefined =
		known ??
		(await state.upsertRecording({
			stateKey: ref.stateKey,
			source: ref.source,
			conversationId: ref.conversationId,
			recordingId: ref.recordingId,
			stage,
			ref,
		}));
	for (let attempt = 0; attempt < 8; attempt++) {
		if (attempt > 0) current = await state.getRecording(ref.stateKey);
		if (!current) return undefined;
		// A placeholder never downgrades a final or quarantined asset.
		const nextStage = stage === 'pushed_placeholder' && (current.stage === 'pushed_final' || current.stage === 'quarantined') ? current.stage : stage;
		const updated = await state.updateRecording(ref.stateKey, current.version, {
			stage: nextStage,
			ref: { ...current.ref, ...(patch.ref ?? {}) },
			...(patch.lmsAssetId ? { lmsAssetId: patch.lmsAssetId } : {}),
		});
		if (updated) return updated;
	}
	throw new Error(`The state of ${ref.stateKey} kept changing under 8 attempts`);
}
