import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { ticketIdField } from '../../shared/fields';
import { text } from '../../shared/lookup';
import { requireTicket } from '../../shared/records';

export const get: Operation = {
	option: { name: 'Get', value: 'get', action: 'Get a ticket', description: 'Get a ticket by ID' },
	properties: [ticketIdField],
	async execute(store, itemIndex) {
		return asData(await requireTicket(store, text(this, 'ticketId', itemIndex)));
	},
};
