import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INode, type INodeExecutionData } from 'n8n-workflow';
import { ZodError, type ZodType, type ZodTypeDef } from 'zod';

import { ItemShapeError, parseItem } from '../../core/item';
import { SendingDomainError } from '../../core/sending-domain/records';
import { StoreUnavailableError } from '../../core/store/types';
import { InvalidInputError } from '../../core/errors';

/** "Nothing was changed" is true for every input error the core raises: it validates before it writes. */
const UNCHANGED = 'Nothing was changed.';

/**
 * Turns a store, zod, item-shape or sending-domain error into a NodeOperationError carrying the item index, so
 * that n8n shows which item failed and why; anything already a NodeOperationError passes through.
 */
export function toNodeError(node: INode, error: unknown, itemIndex?: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	if (error instanceof ZodError) {
		const problems = error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`);
		return new NodeOperationError(node, `Invalid input: ${problems.join('; ')}`, { itemIndex, description: UNCHANGED });
	}
	if (error instanceof InvalidInputError || error instanceof ItemShapeError || error instanceof SendingDomainError) {
		return new NodeOperationError(node, error.message, { itemIndex, description: UNCHANGED });
	}
	if (error instanceof StoreUnavailableError) {
		const nodeError = new NodeOperationError(node, error.message, {
			itemIndex,
			description: 'Check that the store is reachable (for PostgreSQL: host, port and credentials), then retry.',
		});
		// n8n swaps a message containing e.g. ECONNREFUSED for a generic one; ours names the host and port.
		nodeError.message = error.message;
		return nodeError;
	}
	return new NodeOperationError(node, error instanceof Error ? error : String(error), { itemIndex });
}

/** What a node reads from each input item: a schema of core/item.ts, and the item it expects, named in the error. */
export interface ItemInput<T> {
	schema: ZodType<T, ZodTypeDef, unknown>;
	expected: string;
}

/** What one input item became. */
export type ItemResult =
	/** A pipeline step: the input item with this node's part added, on the output numbered `output` (the first by default). */
	| { part: IDataObject; output?: number }
	/** An operation: records of its own, each an item of the first output (none: the item leaves nothing). */
	| { records: IDataObject[] };

export interface EachItem<T> {
	/** How many main outputs the node has. */
	outputs: number;
	/** Read through this schema before `handle` sees the item; without it `handle` gets the item's JSON as it is. */
	input?: ItemInput<T>;
	/** Items to pass on untouched and unread (Create Ticket with tickets turned off). */
	passesThrough?(itemIndex: number): boolean;
}

/** The input item plus this node's part: everything else, binary data included, is kept. */
function withPart(item: INodeExecutionData, part: IDataObject, itemIndex: number): INodeExecutionData {
	return { json: { ...item.json, ...part }, ...(item.binary ? { binary: item.binary } : {}), pairedItem: { item: itemIndex } };
}

/**
 * Runs every input item through `handle`, in order: the one way our nodes process items.
 *
 * Continue-on-fail, one policy for every node: a failed item stops the run with a NodeOperationError naming the
 * item, unless the node is set to continue on error; then it becomes `{ json: { error }, pairedItem }` on the first
 * output, as n8n's own nodes do. That exact shape is what n8n moves to the error output under "Continue (using error
 * output)", joined there with the input item it pairs with (an item with any other field would stay on the first).
 */
export async function eachItem<T>(context: IExecuteFunctions, run: EachItem<T>, handle: (input: T, itemIndex: number) => Promise<ItemResult>): Promise<INodeExecutionData[][]> {
	const items = context.getInputData();
	const outputs: INodeExecutionData[][] = Array.from({ length: run.outputs }, () => []);
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const item = items[itemIndex];
		try {
			if (run.passesThrough?.(itemIndex)) {
				outputs[0].push(item);
				continue;
			}
			const input = run.input ? parseItem(run.input.schema, run.input.expected, item.json) : (item.json as T);
			const result = await handle(input, itemIndex);
			if ('records' in result) outputs[0].push(...result.records.map((json) => ({ json, pairedItem: { item: itemIndex } })));
			else outputs[result.output ?? 0].push(withPart(item, result.part, itemIndex));
		} catch (error) {
			const nodeError = toNodeError(context.getNode(), error, itemIndex);
			if (!context.continueOnFail()) throw nodeError;
			outputs[0].push({ json: { error: nodeError.message }, pairedItem: { item: itemIndex } });
		}
	}
	return outputs;
}
