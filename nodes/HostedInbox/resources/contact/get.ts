import { InvalidInputError } from '../../../../core/errors';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { contactIdField } from '../../shared/fields';
import { text } from '../../shared/lookup';

export const get: Operation = {
	option: { name: 'Get', value: 'get', action: 'Get a contact', description: 'Get a contact by ID' },
	properties: [contactIdField],
	async execute(store, itemIndex) {
		const id = text(this, 'contactId', itemIndex);
		const contact = await store.getContact(id);
		if (!contact) throw new InvalidInputError(`Unknown contact "${id}"`);
		return asData(contact);
	},
};
