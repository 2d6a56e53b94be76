import { isSafeId } from '../ids';
import type { RecordingRef } from '../recordingRef';

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
