import type { INodeProperties } from 'n8n-workflow';

/** Fields several operations share, so each reads the same everywhere. */

export const inboxField: INodeProperties = {
	displayName: 'Inbox',
	name: 'inbox',
	type: 'string',
	required: true,
	default: '',
	placeholder: 'support@inbox.example.com',
	description: 'The hosted address of the inbox (or its ID)',
};

export const agentField: INodeProperties = {
	displayName: 'Agent',
	name: 'agent',
	type: 'string',
	required: true,
	default: '',
	placeholder: 'ana@company.com',
	description: 'The agent\'s ID or email address',
};

export const teamField: INodeProperties = {
	displayName: 'Team',
	name: 'team',
	type: 'string',
	required: true,
	default: '',
	description: 'The team\'s ID or name',
};

export const contactIdField: INodeProperties = {
	displayName: 'Contact ID',
	name: 'contactId',
	type: 'string',
	required: true,
	default: '',
};

export const conversationIdField: INodeProperties = {
	displayName: 'Conversation ID',
	name: 'conversationId',
	type: 'string',
	required: true,
	default: '',
};

export const ticketIdField: INodeProperties = {
	displayName: 'Ticket ID',
	name: 'ticketId',
	type: 'string',
	required: true,
	default: '',
};

export const availabilityField: INodeProperties = {
	displayName: 'Availability',
	name: 'availability',
	type: 'options',
	options: [
		{ name: 'Available', value: 'available', description: 'Gets conversations when automatic assignment runs' },
		{ name: 'Away', value: 'away', description: 'Gets no new conversations while away' },
	],
	default: 'available',
};

export const capacityField: INodeProperties = {
	displayName: 'Capacity',
	name: 'capacity',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 0,
	description: 'Most open conversations the agent may hold; 0 means no limit',
};

export const workingHoursField: INodeProperties = {
	displayName: 'Working Hours',
	name: 'workingHours',
	type: 'json',
	default: '',
	placeholder: '{"timeZone": "Europe/Madrid", "days": {"1": {"start": "09:00", "end": "17:00"}}}',
	description: 'Time zone and per weekday (0 = Sunday) start and end; outside them the agent counts as unavailable. Empty means always.',
};

export const returnAllField: INodeProperties = {
	displayName: 'Return All',
	name: 'returnAll',
	type: 'boolean',
	default: false,
	description: 'Whether to return all results or only up to a given limit',
};

export const limitField: INodeProperties = {
	displayName: 'Limit',
	name: 'limit',
	type: 'number',
	typeOptions: { minValue: 1 },
	default: 50,
	description: 'Max number of results to return',
	displayOptions: { show: { returnAll: [false] } },
};

/** An optional Inbox filter of a listing (Get Many): `what` names the records, e.g. "held messages". */
export function inboxFilterField(what: string): INodeProperties {
	return {
		displayName: 'Inbox',
		name: 'inbox',
		type: 'string',
		default: '',
		placeholder: 'support@inbox.example.com',
		description: `Only this inbox's ${what} (its hosted address or ID); empty for all inboxes`,
	};
}

export const emailField: INodeProperties = {
	displayName: 'Email',
	name: 'email',
	type: 'string',
	placeholder: 'name@email.com',
	required: true,
	default: '',
};

export const nameOption: INodeProperties = { displayName: 'Name', name: 'name', type: 'string', default: '' };

/** The Owner option of a contact or ticket; its description says what an empty value does there. */
export function ownerOption(description: string): INodeProperties {
	return { displayName: 'Owner', name: 'owner', type: 'string', default: '', description };
}

/** An open/closed filter (a conversation's status, a ticket's state). */
export function openClosedOption(displayName: string, name: string): INodeProperties {
	return {
		displayName,
		name,
		type: 'options',
		options: [
			{ name: 'Closed', value: 'closed' },
			{ name: 'Open', value: 'open' },
		],
		default: 'open',
	};
}

/** The optional fields of a Create (Additional Fields), an Update (Update Fields) or a Get Many (Filters). */
function collection(displayName: string, name: string, placeholder: string, options: INodeProperties[]): INodeProperties {
	return { displayName, name, type: 'collection', placeholder, default: {}, options };
}

export const additionalFieldsCollection = (options: INodeProperties[]) => collection('Additional Fields', 'additionalFields', 'Add Field', options);
export const updateFieldsCollection = (options: INodeProperties[]) => collection('Update Fields', 'updateFields', 'Add Field', options);
export const filtersCollection = (options: INodeProperties[]) => collection('Filters', 'filters', 'Add Filter', options);
