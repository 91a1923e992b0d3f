import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField, inboxField } from '../../shared/fields';
import { requireAgent, requireInbox, text } from '../../shared/lookup';

export const removeAgent: Operation = {
	option: {
		name: 'Remove Agent',
		value: 'removeAgent',
		action: 'Remove an agent from an inbox',
		description: 'Stop routing the inbox\'s conversations to an agent',
	},
	properties: [inboxField, agentField],
	async execute(store, itemIndex) {
		const inbox = await requireInbox(store, text(this, 'inbox', itemIndex));
		const agent = await requireAgent(store, text(this, 'agent', itemIndex));
		await store.removeInboxAgent(inbox.id, agent.id);
		return { ...asData(inbox), agents: (await store.listInboxAgents(inbox.id)).map(asData) };
	},
};
