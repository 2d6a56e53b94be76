import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { ExtractionThrottledError } from '../../shared/ccaas/nice/extraction';
import { toNodeError } from '../../shared/n8n/errors';
import { stateStoreFor } from '../../shared/n8n/resources';
import { HttpError, TransportError } from '../../shared/transport/errors';
import * as evaluation from './evaluation/Evaluation.resource';
import * as recording from './recording/Recording.resource';

type Operation = (this: IExecuteFunctions, itemIndex: number, items: INodeExecutionData[]) => Promise<INodeExecutionData[][]>;

const operations: Record<string, Record<string, Operation>> = {
	evaluation: { getEvaluations: evaluation.getEvaluations.execute },
	recording: { pickUpFromS3: recording.pickUpFromS3.execute, stageVoiceAndScreen: recording.stageVoiceAndScreen.execute },
};

const TWO_OUTPUTS = new Set(['stageVoiceAndScreen', 'pickUpFromS3']);

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const outputCount = TWO_OUTPUTS.has(this.getNodeParameter('operation', 0) as string) ? 2 : 1;
	const returnData: INodeExecutionData[][] = Array.from({ length: outputCount }, () => []);
	for (let i = 0; i < items.length; i++) {
		const resource = this.getNodeParameter('resource', i) as string;
		const operation = this.getNodeParameter('operation', i) as string;
		const run = operations[resource]?.[operation];
		try {
			if (!run) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`, { itemIndex: i });
			const outputs = await run.call(this, i, items);
			outputs.forEach((outputItems, output) => returnData[Math.min(output, outputCount - 1)].push(...outputItems));
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

/** Remote failures that outlived retries (outage, persistent throttle) go to the dead letters with the input item. */
async function keepForReplay(this: IExecuteFunctions, error: unknown, item: IDataObject, operation: string): Promise<void> {
	if (!(error instanceof HttpError || error instanceof TransportError || error instanceof ExtractionThrottledError)) return;
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
