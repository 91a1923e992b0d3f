import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_TICKET_STAGE } from '../../core/tickets/stage';

const whenTickets = { show: { createTicket: [true] } };

/** The Create Ticket fields, after the Store: the ticket's name, pipeline, stage, priority, owner and properties. */
export const createTicketProperties: INodeProperties[] = [
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
		default: DEFAULT_TICKET_STAGE,
		displayOptions: whenTickets,
		description: 'The stage "closed" (in any case) closes the ticket; any other stage is open',
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
		default: DEFAULT_TICKET_STAGE,
		displayOptions: whenTickets,
		description: 'Where a closed ticket goes back to when a reply reopens its conversation',
	},
];
