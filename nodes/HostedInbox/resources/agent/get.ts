import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField } from '../../shared/fields';
import { requireAgent, text } from '../../shared/lookup';

export const get: Operation = {
	option: { name: 'Get', value: 'get', action: 'Get an agent', description: 'Get an agent by ID or email' },
	properties: [agentField],
	async execute(store, itemIndex) {
		return asData(await requireAgent(store, text(this, 'agent', itemIndex)));
	},
};
