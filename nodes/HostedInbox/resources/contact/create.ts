import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { inboxField } from '../../shared/fields';
import { requireAgent, requireInbox, text } from '../../shared/lookup';

export const create: Operation = {
	option: { name: 'Create', value: 'create', action: 'Create a contact', description: 'Create a contact in an inbox, optionally with an owner' },
	properties: [
		inboxField,
		{
			displayName: 'Email',
			name: 'email',
			type: 'string',
			placeholder: 'name@email.com',
			required: true,
			default: '',
		},
		{
			displayName: 'Additional Fields',
			name: 'additionalFields',
			type: 'collection',
			placeholder: 'Add Field',
			default: {},
			options: [
				{ displayName: 'Name', name: 'name', type: 'string', default: '' },
				{
					displayName: 'Owner',
					name: 'owner',
					type: 'string',
					default: '',
					description: 'The owning agent\'s ID or email (contact-owner routing sends their conversations to this agent)',
				},
			],
		},
	],
	async execute(store, itemIndex) {
		const inbox = await requireInbox(store, text(this, 'inbox', itemIndex));
		const extra = this.getNodeParameter('additionalFields', itemIndex, {}) as { name?: string; owner?: string };
		const owner = extra.owner?.trim() ? await requireAgent(store, extra.owner.trim()) : null;
		const contact = await store.createContact(inbox.id, {
			email: text(this, 'email', itemIndex),
			name: extra.name?.trim() || null,
			ownerId: owner?.id ?? null,
		});
		return asData(contact);
	},
};
