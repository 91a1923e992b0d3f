import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { ticketItemSchema } from '../../core/item';
import { DEFAULT_TICKET_STAGE } from '../../core/tickets/stage';
import { createTicketForItem } from '../../core/tickets/ticket';
import { searchAgents } from '../shared/agentPickers';
import { storeCredentials, storeProperties } from '../shared/descriptions';
import { eachItem } from '../shared/items';
import { getStore } from '../shared/store';
import { createTicketProperties } from './description';

export class CreateTicket implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Create Ticket',
		name: 'createTicket',
		icon: { light: 'file:createTicket.svg', dark: 'file:createTicket.dark.svg' },
		group: ['transform'],
		usableAsTool: true,
		version: 1,
		subtitle: '={{$parameter["createTicket"] ? "one ticket per conversation" : "tickets off"}}',
		description: 'Creates one support ticket per incoming conversation, or returns the one it already has',
		defaults: { name: 'Create Ticket' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: storeCredentials,
		properties: [...storeProperties, ...createTicketProperties],
	};

	methods = { listSearch: { searchAgents } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const run = {
			outputs: 1,
			input: { schema: ticketItemSchema, expected: 'an item from Resolve Original Sender or Route Conversation' },
			passesThrough: (i: number) => !(this.getNodeParameter('createTicket', i, true) as boolean),
		};
		return await eachItem(this, run, async (item, i) => {
			const rows = (this.getNodeParameter('customProperties.property', i, []) as Array<{ name: string; value: unknown }>) ?? [];
			const properties: IDataObject = {};
			for (const row of rows) if (row.name?.trim()) properties[row.name.trim()] = row.value as IDataObject[string];
			const { ticket, created, reopened } = await createTicketForItem(await getStore(this, i), item, {
				name: this.getNodeParameter('ticketName', i, '') as string,
				pipeline: this.getNodeParameter('pipeline', i, '') as string,
				stage: this.getNodeParameter('stage', i, DEFAULT_TICKET_STAGE) as string,
				priority: this.getNodeParameter('priority', i, '') as string,
				owner: this.getNodeParameter('owner', i, '', { extractValue: true }) as string,
				properties,
				reopenStage: this.getNodeParameter('reopenStage', i, DEFAULT_TICKET_STAGE) as string,
			});
			return { part: { ticket: { ...ticket, created, reopened } as unknown as IDataObject } };
		});
	}
}
