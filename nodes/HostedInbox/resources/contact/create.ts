import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { additionalFieldsCollection, emailField, inboxField, nameOption, ownerOption } from '../../shared/fields';
import { ownerIdFromParameter, requireInbox, text } from '../../shared/lookup';

export const create: Operation = {
	option: { name: 'Create', value: 'create', action: 'Create a contact', description: 'Create a contact in an inbox, optionally with an owner' },
	properties: [
		inboxField,
		emailField,
		additionalFieldsCollection([
			nameOption,
			ownerOption('The owning agent\'s ID or email (contact-owner routing sends their conversations to this agent)'),
		]),
	],
	async execute(store, itemIndex) {
		const inbox = await requireInbox(store, text(this, 'inbox', itemIndex));
		const extra = this.getNodeParameter('additionalFields', itemIndex, {}) as { name?: string; owner?: string };
		const contact = await store.createContact(inbox.id, {
			email: text(this, 'email', itemIndex),
			name: extra.name?.trim() || null,
			ownerId: await ownerIdFromParameter(store, extra.owner),
		});
		return asData(contact);
	},
};
