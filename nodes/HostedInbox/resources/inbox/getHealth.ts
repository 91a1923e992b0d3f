import { inboxHealth } from '../../../../core/health/health';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';

export const getHealth: Operation = {
	option: {
		name: 'Get Health',
		value: 'getHealth',
		action: 'Get the health of inboxes',
		description:
			'Per inbox: whether its trigger runs (running, stopped, silent), the last message received, the backlog and its oldest age, failed and quarantined counts, the last error',
	},
	properties: [
		{
			displayName: 'Inbox',
			name: 'inbox',
			type: 'string',
			default: '',
			placeholder: 'support@inbox.example.com',
			description: 'Only this inbox (its hosted address or ID); empty for one item per inbox',
		},
	],
	async execute(store, itemIndex) {
		const inbox = text(this, 'inbox', itemIndex);
		return (await inboxHealth(store, inbox ? { inbox } : {})).map(asData);
	},
};
