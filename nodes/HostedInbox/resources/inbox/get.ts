import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { inboxField } from '../../shared/fields';
import { requireInbox, text } from '../../shared/lookup';

export const get: Operation = {
	option: { name: 'Get', value: 'get', action: 'Get an inbox', description: 'Get an inbox and its agents' },
	properties: [inboxField],
	async execute(store, itemIndex) {
		const inbox = await requireInbox(store, text(this, 'inbox', itemIndex));
		return { ...asData(inbox), agents: (await store.listInboxAgents(inbox.id)).map(asData) };
	},
};
