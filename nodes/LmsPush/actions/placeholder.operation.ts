import type { IExecuteFunctions, INodeExecutionData, IDataObject } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { appliesToAsset, latestEvaluationFor, pushEvaluation, recordStage } from '../../shared/lms/pipeline';
import { recordingRefProblems } from '../../shared/lms/refValidation';
import { lmsAdapterFor } from '../../shared/n8n/lmsTargets';
import type { RecordingRef } from '../../shared/recordingRef';
import type { StateStore } from '../../shared/state/types';
import { assetDescriptionOf, assetFor, targetOptions, type AssetDescription } from './common';

/**
 * Stage 1: a private placeholder. When the evaluation arrived first (it is in the state store), the final
 * asset is pushed at once, so the order in which the two halves run does not matter.
 */
export async function execute(this: IExecuteFunctions, i: number, json: IDataObject, state: StateStore): Promise<INodeExecutionData> {
	const problems = recordingRefProblems(json);
	if (problems.length) {
		throw new NodeOperationError(this.getNode(), `The input item is not a recording reference: ${problems.join('; ')}`, {
			itemIndex: i,
			description: 'Connect LMS Push after a node that outputs recording references (e.g. Genesys Cloud → Stage Screen Recordings).',
		});
	}
	const ref = json as unknown as RecordingRef;
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	// A replayed dead letter runs under Replay Dead Letters, where Title and Description are not shown: the same
	// wording as their defaults is derived from the recording then.
	const fallback = assetDescriptionOf(ref);
	const description: AssetDescription = {
		title: (this.getNodeParameter('title', i, '') as string) || fallback.title,
		description: (this.getNodeParameter('assetDescription', i, '') as string) || fallback.description,
		moreInfoUrl: (options.moreInfoUrl as string) || undefined,
	};
	const adapter = await lmsAdapterFor(this, i, targetOptions.call(this, i));
	const signal = this.getExecutionCancelSignal();
	const asset = await assetFor.call(this, i, ref, description);
	const placeholder = await adapter.pushPlaceholder(asset, signal);
	const row = await recordStage(state, ref, 'pushed_placeholder', { lmsAssetId: placeholder.assetId, ref: { ...ref, lmsAsset: description } as Partial<RecordingRef> });
	let result = placeholder;
	const evaluation = latestEvaluationFor(ref, await state.listEvaluationsByConversation(ref.conversationId));
	if (evaluation && appliesToAsset(evaluation, { includeUnreleased: Boolean(options.includeUnreleased) })) {
		result = await pushEvaluation(adapter, { ...asset, ref: row?.ref ? ({ ...ref, ...row.ref } as RecordingRef) : ref }, evaluation, signal);
		await recordStage(
			state,
			ref,
			result.stage === 'final' ? 'pushed_final' : 'pushed_placeholder',
			{ lmsAssetId: result.assetId, ref: { evaluation: evaluation.evaluation, ...(evaluation.taxonomy ? { taxonomy: evaluation.taxonomy } : {}) } },
			row,
		);
		await state.linkEvaluation(evaluation.evaluation.id, ref.stateKey);
	}
	const out: IDataObject = {
		...json,
		...(result !== placeholder ? { evaluation: evaluation?.evaluation, ...(evaluation?.taxonomy ? { taxonomy: evaluation.taxonomy } : {}) } : {}),
		lms: { target: result.target, assetId: result.assetId, statementIds: [...new Set([...placeholder.statementIds, ...result.statementIds])], stage: result.stage },
		lmsPush: { created: placeholder.created, completedWithStoredEvaluation: result !== placeholder, ...result.details },
	};
	return { json: out, pairedItem: { item: i } };
}
