import type { IDataObject, IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import type { Store } from '../../../core/store/types';

/** One operation of a resource: its option in the Operation list, its fields, and what it does for one item. */
export interface Operation {
	option: INodePropertyOptions & { value: string; action: string };
	/** Its fields; the resource adds the displayOptions that show them for this operation only. */
	properties: INodeProperties[];
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

/** The node's Resource parameter, listing the registered resources. */
export function resourceParameter(resources: Resource[]): INodeProperties {
	const defaultResource = resources[0].option.value;
	return {
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: resources.map((resource) => resource.option).sort(byName),
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
