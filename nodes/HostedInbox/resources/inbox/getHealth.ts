import { inboxHealth } from '../../../../core/health/health';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { inboxFilterField } from '../../shared/fields';
import { text } from '../../shared/lookup';

export const getHealth: Operation = {
	option: {
		name: 'Get Health',
		value: 'getHealth',
		action: 'Get the health of inboxes',
		description:
			'Per inbox: whether its trigger runs (running, stopped, silent), the last message received, the backlog and its oldest age, failed and quarantined counts, the last error',
	},
	properties: [inboxFilterField('health')],
	async execute(store, itemIndex) {
		const inbox = text(this, 'inbox', itemIndex);
		return (await inboxHealth(store, inbox ? { inbox } : {})).map(asData);
	},
};
