import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { DeadLetter, StateStore } from '../../shared/state/types';

export type ItemOperation = (this: IExecuteFunctions, i: number, json: IDataObject, state: StateStore) => Promise<INodeExecutionData | INodeExecutionData[]>;

/**
 * Re-sends dead letters of LMS Push. Every push is idempotent (deterministic ids, revision checks), so a
 * replay of something that half-succeeded before changes nothing twice. Successes are marked replayed;
 * failures stay pending for the next replay.
 */
export async function execute(
	this: IExecuteFunctions,
	state: StateStore,
	operations: Record<string, ItemOperation>,
): Promise<INodeExecutionData[]> {
	const nodeName = (this.getNodeParameter('deadLetterNode', 0, '') as string) || undefined;
	const limit = this.getNodeParameter('limit', 0, 50) as number;
	const letters = await pendingLetters(state, operations, limit, nodeName);
	const out: INodeExecutionData[] = [];
	for (const letter of letters) {
		const { operation, item } = letter.payload as { operation: string; item: IDataObject };
		try {
			const produced = await operations[operation].call(this, 0, item, state);
			await state.markDeadLetterReplayed(letter.id);
			for (const entry of Array.isArray(produced) ? produced : [produced]) {
				out.push({ json: { ...entry.json, replay: { deadLetterId: letter.id, operation, replayed: true } }, pairedItem: { item: 0 } });
			}
		} catch (error) {
			out.push({
				json: { ...item, replay: { deadLetterId: letter.id, operation, replayed: false, error: (error as Error).message } },
				pairedItem: { item: 0 },
			});
		}
	}
	return out;
}

/** Pages through pending dead letters (one node's, when named) until `limit` of LMS Push's operations are found. */
async function pendingLetters(
	state: StateStore,
	operations: Record<string, ItemOperation>,
	limit: number,
	node: string | undefined,
): Promise<DeadLetter[]> {
	const found: DeadLetter[] = [];
	let afterId = 0;
	for (;;) {
		const page = await state.listDeadLetters({ node, afterId, limit: 500 });
		for (const letter of page) {
			const operation = (letter.payload as { operation?: unknown } | null)?.operation;
			if (typeof operation === 'string' && operation in operations) found.push(letter);
			if (found.length === limit) return found;
		}
		if (page.length < 500) return found;
		afterId = page[page.length - 1].id;
	}
}
