import { isSafeId } from '../ids';
import type { EvaluationItem, RecordingRef } from '../recordingRef';

/** Bad input names the field and changes nothing: checks an item is a RecordingRef before any side effect. */
export function recordingRefProblems(value: unknown): string[] {
	const problems: string[] = [];
	if (typeof value !== 'object' || value === null) return ['item: expected a recording reference object'];
	const ref = value as Partial<RecordingRef>;
	if (!ref.source) problems.push('source: missing');
	if (!isSafeId(ref.conversationId)) problems.push('conversationId: missing or not a safe id');
	if (!isSafeId(ref.recordingId)) problems.push('recordingId: missing or not a safe id');
	if (!ref.agent || typeof ref.agent.id !== 'string' || ref.agent.id === '') problems.push('agent.id: missing');
	if (typeof ref.stateKey !== 'string' || ref.stateKey !== `${ref.source}:${ref.conversationId}:${ref.recordingId}`) {
		problems.push('stateKey: must be <source>:<conversationId>:<recordingId>');
	}
	return problems;
}

export function asRecordingRef(value: unknown): RecordingRef {
	const problems = recordingRefProblems(value);
	if (problems.length) throw new Error(`The item is not a recording reference: ${problems.join('; ')}`);
	return value as RecordingRef;
}

/** Checks an item is an evaluation of the evaluation half (EvaluationItem) before any side effect; names each field. */
export function evaluationItemProblems(value: unknown): string[] {
	if (typeof value !== 'object' || value === null) return ['item: expected an evaluation object'];
	const item = value as Partial<EvaluationItem>;
	const problems: string[] = [];
	if (!item.source) problems.push('source: missing');
	if (!isSafeId(item.conversationId)) problems.push('conversationId: missing or not a safe id');
	if (typeof item.agentId !== 'string' || item.agentId === '') problems.push('agentId: missing');
	const evaluation = item.evaluation;
	if (!evaluation || typeof evaluation !== 'object') {
		problems.push('evaluation: missing');
		return problems;
	}
	if (typeof evaluation.id !== 'string' || evaluation.id === '') problems.push('evaluation.id: missing');
	if (typeof evaluation.totalScore !== 'number' || !Number.isFinite(evaluation.totalScore) || evaluation.totalScore < 0 || evaluation.totalScore > 100) {
		problems.push('evaluation.totalScore: must be a number from 0 to 100');
	}
	if (!Array.isArray(evaluation.criteria)) problems.push('evaluation.criteria: must be a list');
	else {
		evaluation.criteria.forEach((criterion, index) => {
			if (!criterion || typeof criterion.name !== 'string' || typeof criterion.failed !== 'boolean') {
				problems.push(`evaluation.criteria[${index}]: needs a name and a failed flag`);
			}
		});
	}
	if (typeof evaluation.released !== 'boolean') problems.push('evaluation.released: must be true or false');
	return problems;
}
