import { erasePerson } from '../../../../core/retention/erase';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { emailField } from '../../shared/fields';
import { text } from '../../shared/lookup';

export const erase: Operation = {
	option: {
		name: 'Erase',
		value: 'erase',
		action: 'Erase a person',
		description:
			'Erase everything the store holds about this address, in every inbox: contact, conversations, messages, tickets, intake log and spooled mail; other records keep their rest with the address removed',
	},
	properties: [emailField],
	async execute(store, itemIndex) {
		return asData(await erasePerson(store, text(this, 'email', itemIndex)));
	},
};
