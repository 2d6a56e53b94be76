import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';

import { HttpError, TransportError } from '../transport/errors';
import { InvalidIdError } from '../ids';

/** Maps domain errors to n8n's: remote failures become NodeApiError, everything else NodeOperationError. */
export function toNodeError(node: INode, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		if (error.context?.itemIndex === undefined) error.context.itemIndex = itemIndex;
		return error;
	}
	if (error instanceof HttpError) {
		return new NodeApiError(node, { message: error.message, httpCode: String(error.status), body: safeBody(error.responseBody) } as JsonObject, {
			itemIndex,
			message: error.message,
			httpCode: String(error.status),
		});
	}
	if (error instanceof TransportError) {
		return new NodeApiError(node, { message: error.message } as JsonObject, { itemIndex, message: error.message });
	}
	if (error instanceof InvalidIdError) {
		return new NodeOperationError(node, error.message, { itemIndex, description: `Field: ${error.field}` });
	}
	return new NodeOperationError(node, error as Error, { itemIndex });
}

function safeBody(body: unknown): string {
	if (body === undefined) return '';
	const text = typeof body === 'string' ? body : JSON.stringify(body);
	return text.slice(0, 1000);
}

/** Remote failures that survived the transport's retries: worth a dead letter and a replay (bad input is not). */
export function isRemoteFailure(error: unknown): boolean {
	const cause = (error as { cause?: unknown })?.cause;
	return error instanceof HttpError || error instanceof TransportError || cause instanceof HttpError || cause instanceof TransportError;
}
