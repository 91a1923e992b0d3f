import type { Agent } from '../../../../core/store/types';
import type { Store } from '../../../../core/store/roles';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField, availabilityField, capacityField, updateFieldsCollection, workingHoursField } from '../../shared/fields';
import { capacityFromParameter, requireAgent, text, workingHoursFromParameter } from '../../shared/lookup';

type Patch = Parameters<Store['updateAgent']>[1];

export const update: Operation = {
	option: { name: 'Update', value: 'update', action: 'Update an agent', description: 'Change an agent\'s names, availability, capacity or working hours' },
	properties: [
		agentField,
		updateFieldsCollection([
			{
				displayName: 'Active',
				name: 'active',
				type: 'boolean',
				default: true,
				description: 'Whether the agent is active (a deactivated agent gets no conversations)',
			},
			availabilityField,
			capacityField,
			{ displayName: 'First Name', name: 'firstName', type: 'string', default: '' },
			{ displayName: 'Full Name', name: 'fullName', type: 'string', default: '' },
			workingHoursField,
		]),
	],
	async execute(store, itemIndex) {
		const agent = await requireAgent(store, text(this, 'agent', itemIndex));
		const fields = this.getNodeParameter('updateFields', itemIndex, {}) as Partial<Record<keyof Agent, unknown>>;
		const patch: Patch = {};
		if (fields.firstName !== undefined) patch.firstName = String(fields.firstName);
		if (fields.fullName !== undefined) patch.fullName = String(fields.fullName);
		if (fields.availability !== undefined) patch.availability = fields.availability as Agent['availability'];
		if (fields.active !== undefined) patch.active = Boolean(fields.active);
		if (fields.capacity !== undefined) patch.capacity = capacityFromParameter(fields.capacity);
		if (fields.workingHours !== undefined) patch.workingHours = workingHoursFromParameter(fields.workingHours);
		return asData(await store.updateAgent(agent.id, patch));
	},
};
