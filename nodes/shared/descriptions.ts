import { NodeOperationError, type INode, type INodeCredentialDescription, type INodeProperties } from 'n8n-workflow';
import { ZodError } from 'zod';

import { ItemShapeError } from '../../core/item';
import { DEFAULT_SCHEMA } from '../../core/store/postgres';
import { StoreInputError, StoreUnavailableError } from '../../core/store/types';

/** The Store parameter every node shows, first, the same way (spread into the node's properties). */
export const storeProperties: INodeProperties[] = [
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Embedded',
				value: 'embedded',
				description: 'A file in n8n\'s data folder; zero setup, for a single n8n process (not queue mode)',
			},
			{
				name: 'PostgreSQL',
				value: 'postgres',
				description: 'A PostgreSQL database shared by n8n\'s main process and its workers (needed in queue mode)',
			},
		],
		default: 'embedded',
		description: 'Where the inbox keeps contacts, agents, conversations and tickets',
	},
	{
		displayName: 'Schema',
		name: 'storeSchema',
		type: 'string',
		default: DEFAULT_SCHEMA,
		displayOptions: { show: { store: ['postgres'] } },
		description: 'PostgreSQL schema holding the inbox tables (created on first use), so that n8n\'s own database can host them',
	},
];

/** The credential that goes with the Store parameter: n8n's built-in Postgres credential, only for the PostgreSQL store. */
export const storeCredentials: INodeCredentialDescription[] = [
	{
		name: 'postgres',
		required: true,
		displayOptions: { show: { store: ['postgres'] } },
	},
];

/** "Nothing was changed" is true for every input error the store raises: it validates before it writes. */
const UNCHANGED = 'Nothing was changed.';

/**
 * Turns a store, zod or item-shape error into a NodeOperationError carrying the item index, so that n8n shows
 * which item failed and why; anything already a NodeOperationError passes through.
 */
export function toNodeError(node: INode, error: unknown, itemIndex?: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	if (error instanceof ZodError) {
		const problems = error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`);
		return new NodeOperationError(node, `Invalid input: ${problems.join('; ')}`, { itemIndex, description: UNCHANGED });
	}
	if (error instanceof StoreInputError || error instanceof ItemShapeError) {
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
