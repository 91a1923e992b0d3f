import type { IDataObject, IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import type { Store } from '../../../core/store/roles';

/** One operation of a resource: its option in the Operation list, its fields, and what it does for one item. */
export interface Operation {
	option: INodePropertyOptions & { value: string; action: string };
	/** Its fields; the resource adds the displayOptions that show them for this operation only. */
	properties: INodeProperties[];
	/** Reads a secret (e.g. a private key credential): never offered to AI agents, and refused when the node runs as a tool. */
	secret?: true;
	/** The records it outputs for the item at itemIndex (an array becomes several items, null none). */
	execute(this: IExecuteFunctions, store: Store, itemIndex: number): Promise<IDataObject | IDataObject[] | null>;
}

export interface Resource {
	option: INodePropertyOptions & { value: string };
	operations: Operation[];
	defaultOperation: string;
}

const byName = (a: INodePropertyOptions, b: INodePropertyOptions) => a.name.localeCompare(b.name);

/** The resource's Operation parameter plus each operation's fields, shown only for that resource and operation. */
export function resourceProperties(resource: Resource): INodeProperties[] {
	const showResource = { resource: [resource.option.value] };
	const defaultOperation = resource.defaultOperation;
	return [
		{
			displayName: 'Operation',
			name: 'operation',
			type: 'options',
			noDataExpression: true,
			displayOptions: { show: showResource },
			options: resource.operations.map((operation) => operation.option).sort(byName),
			default: defaultOperation,
		},
		...resource.operations.flatMap((operation) =>
			operation.properties.map((property) => ({
				...property,
				displayOptions: {
					...property.displayOptions,
					show: { ...property.displayOptions?.show, ...showResource, operation: [operation.option.value] },
				},
			})),
		),
	];
}

/**
 * n8n runs a node used by an AI agent as the type `<name>Tool`; its `@tool` display condition is the same test.
 * A resource with a secret operation is hidden there, and the operation is refused (see HostedInbox.execute).
 */
export function isToolNode(nodeType: string): boolean {
	return nodeType.endsWith('Tool');
}

const HIDDEN_FROM_AGENTS = { hide: { '@tool': [true] } };

/** The node's Resource parameter, listing the registered resources (those with a secret operation not to AI agents). */
export function resourceParameter(resources: Resource[]): INodeProperties {
	const defaultResource = resources[0].option.value;
	const option = (resource: Resource) => (resource.operations.some((o) => o.secret) ? { ...resource.option, displayOptions: HIDDEN_FROM_AGENTS } : resource.option);
	return {
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: resources.map(option).sort(byName),
		default: defaultResource,
	};
}

export function findOperation(resources: Resource[], resource: string, operation: string): Operation | undefined {
	return resources.find((r) => r.option.value === resource)?.operations.find((o) => o.option.value === operation);
}

/** Records are plain JSON (ids, strings, nested objects): n8n items carry them as they are. */
export function asData<T extends object>(record: T): IDataObject {
	return record as unknown as IDataObject;
}
