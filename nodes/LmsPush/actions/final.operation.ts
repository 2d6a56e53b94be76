import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { appliesToAsset, belongsTo, pushEvaluation, recordStage, revisionOf } from '../../shared/lms/pipeline';
import { evaluationItemProblems } from '../../shared/lms/refValidation';
import { lmsAdapterFor } from '../../shared/n8n/lmsTargets';
import type { EvaluationItem, RecordingRef } from '../../shared/recordingRef';
import type { StateStore } from '../../shared/state/types';
import { assetDescriptionOf, assetFor, targetOptions } from './common';

/**
 * Stage 2: the evaluation half. Stores the evaluation (latest revision wins), then updates every asset
 * of that conversation and agent already at the target. With no asset yet, the evaluation waits in the
 * state store and the recording half finishes the asset when it arrives.
 */
export async function execute(this: IExecuteFunctions, i: number, json: IDataObject, state: StateStore): Promise<INodeExecutionData[]> {
	const problems = evaluationItemProblems(json);
	if (problems.length) {
		throw new NodeOperationError(this.getNode(), `The input item is not an evaluation: ${problems.join('; ')}`, {
			itemIndex: i,
			description: 'Connect this operation after Genesys Cloud → Evaluation, a NICE Evaluation Trigger or Taxonomy Map.',
		});
	}
	const item = json as unknown as EvaluationItem;
	const revision = revisionOf(item);
	if (!revision) {
		throw new NodeOperationError(this.getNode(), 'The evaluation has no revision or evaluation time (evaluation.revision / evaluation.evaluatedAt)', {
			itemIndex: i,
			description: 'Without one, an older delivery could overwrite a newer score.',
		});
	}
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	const { applied, stored } = await state.putEvaluation({
		evaluationId: item.evaluation.id,
		source: item.source,
		conversationId: item.conversationId,
		agentId: item.agentId,
		revision,
		evaluatedAt: item.evaluation.evaluatedAt,
		payload: item,
	});
	// An older delivery than the stored one changes nothing; the stored (newer) one is what the asset shows.
	const current = applied ? item : (stored.payload as EvaluationItem);
	const recordings = (await state.listRecordingsByConversation(item.conversationId)).filter(
		(row) => row.lmsAssetId && belongsTo(current, row.ref as RecordingRef),
	);
	if (!appliesToAsset(current, { includeUnreleased: Boolean(options.includeUnreleased) })) {
		return [{ json: { ...json, lmsPush: { updated: 0, reason: 'The evaluation is not released or not finished; assets keep their current state', stale: !applied } }, pairedItem: { item: i } }];
	}
	if (recordings.length === 0) {
		return [{ json: { ...json, lmsPush: { updated: 0, waitingForRecording: true, stale: !applied } }, pairedItem: { item: i } }];
	}
	const adapter = await lmsAdapterFor(this, i, targetOptions.call(this, i));
	const signal = this.getExecutionCancelSignal();
	const results: INodeExecutionData[] = [];
	for (const row of recordings) {
		const ref = row.ref as RecordingRef & { lmsAsset?: ReturnType<typeof assetDescriptionOf> };
		const asset = await assetFor.call(this, i, ref, assetDescriptionOf(ref));
		const result = await pushEvaluation(adapter, asset, current, signal);
		const stage = result.stage === 'final' ? 'pushed_final' : 'pushed_placeholder';
		await recordStage(
			state,
			ref,
			stage,
			{
				lmsAssetId: result.assetId,
				ref: current.training?.retracted ? { evaluation: undefined } : { evaluation: current.evaluation, ...(current.taxonomy ? { taxonomy: current.taxonomy } : {}) },
			},
			row,
		);
		await state.linkEvaluation(current.evaluation.id, ref.stateKey);
		results.push({
			json: {
				...json,
				...(applied ? {} : { evaluation: current.evaluation }),
				stateKey: ref.stateKey,
				recordingId: ref.recordingId,
				lms: { target: result.target, assetId: result.assetId, statementIds: result.statementIds, stage: result.stage },
				lmsPush: { created: result.created, stale: !applied, ...result.details },
			},
			pairedItem: { item: i },
		});
	}
	return results;
}
