import { InvalidInputError } from '../../../../core/errors';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { contactIdField, nameOption, ownerOption, updateFieldsCollection } from '../../shared/fields';
import { ownerIdFromParameter, text } from '../../shared/lookup';

export const update: Operation = {
	option: { name: 'Update', value: 'update', action: 'Update a contact', description: 'Change a contact\'s name or owner' },
	properties: [
		contactIdField,
		updateFieldsCollection([nameOption, ownerOption('The owning agent\'s ID or email; empty removes the owner')]),
	],
	async execute(store, itemIndex) {
		const id = text(this, 'contactId', itemIndex);
		if (!(await store.getContact(id))) throw new InvalidInputError(`Unknown contact "${id}"`);
		const fields = this.getNodeParameter('updateFields', itemIndex, {}) as { name?: string; owner?: string };
		const patch: { name?: string | null; ownerId?: string | null } = {};
		if (fields.name !== undefined) patch.name = fields.name.trim() || null;
		if (fields.owner !== undefined) patch.ownerId = await ownerIdFromParameter(store, fields.owner);
		return asData(await store.updateContact(id, patch));
	},
};
