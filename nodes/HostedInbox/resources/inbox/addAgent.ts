import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField, inboxField } from '../../shared/fields';
import { requireAgent, requireInbox, text } from '../../shared/lookup';

export const addAgent: Operation = {
	option: { name: 'Add Agent', value: 'addAgent', action: 'Add an agent to an inbox', description: 'Let an agent work the inbox\'s conversations' },
	properties: [inboxField, agentField],
	async execute(store, itemIndex) {
		const inbox = await requireInbox(store, text(this, 'inbox', itemIndex));
		const agent = await requireAgent(store, text(this, 'agent', itemIndex));
		await store.addInboxAgent(inbox.id, agent.id);
		return { ...asData(inbox), agents: (await store.listInboxAgents(inbox.id)).map(asData) };
	},
};
