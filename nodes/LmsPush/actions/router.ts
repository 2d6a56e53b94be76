import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { isRemoteFailure, toNodeError } from '../../shared/n8n/errors';
import { stateStoreFor } from '../../shared/n8n/resources';
import type { StateStore } from '../../shared/state/types';
import * as final from './final.operation';
import * as placeholder from './placeholder.operation';
import * as replay from './replay.operation';

const itemOperations: Record<string, replay.ItemOperation> = {
	pushPlaceholder: placeholder.execute,
	pushFinal: final.execute,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	const state: StateStore = await stateStoreFor(this);
	if (operation === 'replayDeadLetters') {
		return [await replay.execute.call(this, state, itemOperations)];
	}
	// Operation has noDataExpression: it is the same for every item.
	const itemOperation = itemOperations[operation];
	const returnData: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			if (!itemOperation) throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`, { itemIndex: i });
			const produced = await itemOperation.call(this, i, items[i].json, state);
			returnData.push(...(Array.isArray(produced) ? produced : [produced]));
		} catch (error) {
			const nodeError = toNodeError(this.getNode(), error, i);
			if (isRemoteFailure(error)) {
				// Nothing is lost: the item waits in the dead letters for Replay Dead Letters.
				await state.addDeadLetter({
					stateKey: (items[i].json.stateKey as string) ?? undefined,
					node: this.getNode().name,
					error: nodeError.message,
					payload: { operation, item: items[i].json as IDataObject },
				});
			}
			if (this.continueOnFail()) {
				returnData.push({ json: { ...items[i].json, error: nodeError.message }, error: nodeError, pairedItem: { item: i } });
				continue;
			}
			throw nodeError;
		}
	}
	return [returnData];
}
