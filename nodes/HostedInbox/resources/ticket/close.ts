import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { ticketIdField } from '../../shared/fields';
import { text } from '../../shared/lookup';
import { requireTicket } from '../../shared/records';

export const close: Operation = {
	option: { name: 'Close', value: 'close', action: 'Close a ticket', description: 'Close a ticket' },
	properties: [ticketIdField],
	async execute(store, itemIndex) {
		const ticket = await requireTicket(store, text(this, 'ticketId', itemIndex));
		return asData(await store.closeTicket(ticket.id));
	},
};
