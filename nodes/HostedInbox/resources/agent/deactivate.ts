import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField } from '../../shared/fields';
import { requireAgent, text } from '../../shared/lookup';

export const deactivate: Operation = {
	option: {
		name: 'Deactivate',
		value: 'deactivate',
		action: 'Deactivate an agent',
		description: 'Stop assigning conversations to an agent; their replies re-route afresh',
	},
	properties: [agentField],
	async execute(store, itemIndex) {
		const agent = await requireAgent(store, text(this, 'agent', itemIndex));
		return asData(await store.updateAgent(agent.id, { active: false }));
	},
};
