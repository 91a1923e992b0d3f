import type { Availability } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField, availabilityField } from '../../shared/fields';
import { requireAgent, text } from '../../shared/lookup';

export const setAvailability: Operation = {
	option: {
		name: 'Set Availability',
		value: 'setAvailability',
		action: 'Set an agent\'s availability',
		description: 'Mark an agent available or away (e.g. from a schedule outside working hours)',
	},
	properties: [agentField, { ...availabilityField, required: true }],
	async execute(store, itemIndex) {
		const agent = await requireAgent(store, text(this, 'agent', itemIndex));
		const availability = this.getNodeParameter('availability', itemIndex) as Availability;
		return asData(await store.updateAgent(agent.id, { availability }));
	},
};
