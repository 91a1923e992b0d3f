import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { toNodeError } from './descriptions';

/** The input item plus this node's part: everything else, binary data included, is kept. */
export function withPart(item: INodeExecutionData, part: IDataObject, itemIndex: number): INodeExecutionData {
	return { json: { ...item.json, ...part }, ...(item.binary ? { binary: item.binary } : {}), pairedItem: { item: itemIndex } };
}

/** Continue-on-fail keeps the item with the error; otherwise the error stops the run, tied to its item. */
export function failedItem(context: IExecuteFunctions, item: INodeExecutionData, error: unknown, itemIndex: number): INodeExecutionData {
	const nodeError = toNodeError(context.getNode(), error, itemIndex);
	if (!context.continueOnFail()) throw nodeError;
	return withPart(item, { error: nodeError.message }, itemIndex);
}
