import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { additionalFieldsCollection, availabilityField, capacityField, emailField, workingHoursField } from '../../shared/fields';
import { capacityFromParameter, text, workingHoursFromParameter } from '../../shared/lookup';

export const create: Operation = {
	option: { name: 'Create', value: 'create', action: 'Create an agent', description: 'Create an agent (a user who answers conversations)' },
	properties: [
		emailField,
		{
			displayName: 'First Name',
			name: 'firstName',
			type: 'string',
			required: true,
			default: '',
			description: 'Used by the signature\'s first-name token',
		},
		{
			displayName: 'Full Name',
			name: 'fullName',
			type: 'string',
			required: true,
			default: '',
			description: 'The name contacts see on the agent\'s replies',
		},
		additionalFieldsCollection([availabilityField, capacityField, workingHoursField]),
	],
	async execute(store, itemIndex) {
		const extra = this.getNodeParameter('additionalFields', itemIndex, {}) as { availability?: 'available' | 'away'; capacity?: number; workingHours?: unknown };
		const agent = await store.createAgent({
			email: text(this, 'email', itemIndex),
			firstName: text(this, 'firstName', itemIndex),
			fullName: text(this, 'fullName', itemIndex),
			...(extra.availability ? { availability: extra.availability } : {}),
			capacity: capacityFromParameter(extra.capacity),
			workingHours: workingHoursFromParameter(extra.workingHours),
		});
		return asData(agent);
	},
};
