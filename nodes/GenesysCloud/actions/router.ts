import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { toNodeError } from '../../shared/n8n/errors';
import { stateStoreFor } from '../../shared/n8n/resources';
import { HttpError, TransportError } from '../../shared/transport/errors';
import * as evaluation from './evaluation/Evaluation.resource';
import * as recording from './recording/Recording.resource';

/** Each operation returns its items per output (most operations have one output). */
type Operation = (this: IExecuteFunctions, itemIndex: number, items: INodeExecutionData[]) => Promise<INodeExecutionData[][]>;

const operations: Record<string, Record<string, Operation>> = {
	evaluation: {
		get: evaluation.get.execute,
		query: evaluation.query.execute,
	},
	recording: {
		stageScreenRecordings: recording.stageScreenRecordings.execute,
		getMetadata: recording.getMetadata.execute,
	},
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const firstOperation = this.getNodeParameter('operation', 0) as string;
	if (firstOperation === 'stageBatch') {
		// One batch job serves many items: this operation takes the whole input at once.
		try {
			return await recording.stageBatch.executeAll.call(this, items);
		} catch (error) {
			await keepForReplay.call(this, error, { conversationIds: items.map((item) => item.json.conversationId) }, 'recording.stageBatch');
			throw toNodeError(this.getNode(), error, 0);
		}
	}
	const outputCount = firstOperation === 'stageScreenRecordings' ? 2 : 1;
	const returnData: INodeExecutionData[][] = Array.from({ length: outputCount }, () => []);
	for (let i = 0; i < items.length; i++) {
		const resource = this.getNodeParameter('resource', i) as string;
		const operation = this.getNodeParameter('operation', i) as string;
		const run = operations[resource]?.[operation];
		try {
			if (!run) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`, { itemIndex: i });
			const outputs = await run.call(this, i, items);
			outputs.forEach((outputItems, output) => returnData[output].push(...outputItems));
		} catch (error) {
			await keepForReplay.call(this, error, items[i].json, `${resource}.${operation}`);
			if (this.continueOnFail()) {
				returnData[0].push({ json: { ...items[i].json, error: (error as Error).message }, pairedItem: { item: i } });
				continue;
			}
			throw toNodeError(this.getNode(), error, i);
		}
	}
	return returnData;
}

/**
 * Remote failures that outlived the transport's retries (an absurd Retry-After, an outage) are written to the
 * state store's dead letters with the input item, so nothing is lost; bad input is not.
 */
async function keepForReplay(this: IExecuteFunctions, error: unknown, item: IDataObject, operation: string): Promise<void> {
	if (!(error instanceof HttpError || error instanceof TransportError)) return;
	try {
		const state = await stateStoreFor(this);
		await state.addDeadLetter({
			stateKey: typeof item.stateKey === 'string' ? item.stateKey : undefined,
			node: `${this.getNode().name} (${operation})`,
			error: error.message,
			payload: item,
		});
	} catch (stateError) {
		this.logger.error(`Could not record a dead letter: ${(stateError as Error).message}`);
	}
}
