import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { assignmentSchema, parseItem, resolvedItemSchema } from '../../core/item';
import { createTicket } from '../../core/tickets/ticket';
import { searchAgents } from '../shared/agentPickers';
import { storeCredentials, storeProperties } from '../shared/descriptions';
import { failedItem, withPart } from '../shared/pipelineItem';
import { getStore } from '../shared/store';

// Route Conversation is optional before this node: without it the owner default is the conversation's assignee.
const ticketInputSchema = resolvedItemSchema.extend({ assignment: assignmentSchema.optional() });
const whenTickets = { show: { createTicket: [true] } };

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
		properties: [
			...storeProperties,
			{
				displayName: 'Treat Incoming Conversations as Support Tickets',
				name: 'createTicket',
				type: 'boolean',
				default: true,
				description: 'Whether to create a ticket for each incoming conversation. When off, items pass through untouched.',
			},
			{
				displayName: 'Ticket Name',
				name: 'ticketName',
				type: 'string',
				default: '',
				placeholder: '={{ $json.email.subject }}',
				displayOptions: whenTickets,
				description: 'Default: the email subject (for a team member\'s forward, the forwarded message\'s subject), or "(no subject)"',
			},
			{
				displayName: 'Pipeline',
				name: 'pipeline',
				type: 'string',
				default: '',
				placeholder: 'support',
				displayOptions: whenTickets,
				description: 'Default: the support pipeline',
			},
			{
				displayName: 'Stage',
				name: 'stage',
				type: 'string',
				default: 'New',
				displayOptions: whenTickets,
			},
			{
				displayName: 'Priority',
				name: 'priority',
				type: 'options',
				default: '',
				displayOptions: whenTickets,
				options: [
					{ name: 'High', value: 'High' },
					{ name: 'Low', value: 'Low' },
					{ name: 'Medium', value: 'Medium' },
					{ name: 'None', value: '' },
					{ name: 'Urgent', value: 'Urgent' },
				],
			},
			{
				displayName: 'Owner',
				name: 'owner',
				type: 'resourceLocator',
				default: { mode: 'list', value: '' },
				displayOptions: whenTickets,
				description: 'Default (empty): the conversation assignee',
				modes: [
					{
						displayName: 'From List',
						name: 'list',
						type: 'list',
						typeOptions: { searchListMethod: 'searchAgents', searchable: true },
					},
					{
						displayName: 'ID or Email',
						name: 'id',
						type: 'string',
						placeholder: 'ana@company.test',
					},
				],
			},
			{
				displayName: 'Custom Properties',
				name: 'customProperties',
				type: 'fixedCollection',
				placeholder: 'Add Property',
				default: {},
				typeOptions: { multipleValues: true },
				displayOptions: whenTickets,
				options: [
					{
						displayName: 'Property',
						name: 'property',
						values: [
							{ displayName: 'Name', name: 'name', type: 'string', default: '' },
							{ displayName: 'Value', name: 'value', type: 'string', default: '' },
						],
					},
				],
			},
			{
				displayName: 'Stage When a Reply Reopens the Conversation',
				name: 'reopenStage',
				type: 'string',
				default: 'New',
				displayOptions: whenTickets,
				description: 'Where a closed ticket goes back to when a reply reopens its conversation',
			},
		],
	};

	methods = { listSearch: { searchAgents } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				if (!(this.getNodeParameter('createTicket', i, true) as boolean)) {
					out.push(items[i]);
					continue;
				}
				const item = parseItem(ticketInputSchema, 'an item from Resolve Original Sender or Route Conversation', items[i].json);
				const rows = (this.getNodeParameter('customProperties.property', i, []) as Array<{ name: string; value: unknown }>) ?? [];
				const properties: IDataObject = {};
				for (const row of rows) if (row.name?.trim()) properties[row.name.trim()] = row.value as IDataObject[string];
				const { ticket, created, reopened } = await createTicket(
					await getStore(this, i),
					item.conversation.id,
					{
						subject: item.originalSender.subject || item.email.subject,
						assigneeId: item.assignment ? (item.assignment.assignee?.id ?? null) : item.conversation.assigneeId,
						conversationReopened: item.conversation.reopened,
					},
					{
						name: this.getNodeParameter('ticketName', i, '') as string,
						pipeline: this.getNodeParameter('pipeline', i, '') as string,
						stage: this.getNodeParameter('stage', i, 'New') as string,
						priority: this.getNodeParameter('priority', i, '') as string,
						owner: this.getNodeParameter('owner', i, '', { extractValue: true }) as string,
						properties,
						reopenStage: this.getNodeParameter('reopenStage', i, 'New') as string,
					},
				);
				out.push(withPart(items[i], { ticket: { ...ticket, created, reopened } as unknown as IDataObject }, i));
			} catch (error) {
				out.push(failedItem(this, items[i], error, i));
			}
		}
		return [out];
	}
}
