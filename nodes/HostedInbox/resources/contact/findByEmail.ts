import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { emailField, inboxField } from '../../shared/fields';
import { requireInbox, text } from '../../shared/lookup';
import { checkEmail } from '../../../../core/store/validate';

export const findByEmail: Operation = {
	option: {
		name: 'Find by Email',
		value: 'findByEmail',
		action: 'Find a contact by email',
		description: 'Find the inbox\'s contact with this email address (case-insensitive); outputs nothing when there is none',
	},
	properties: [
		inboxField,
		emailField,
	],
	async execute(store, itemIndex) {
		const inbox = await requireInbox(store, text(this, 'inbox', itemIndex));
		const { email } = checkEmail(text(this, 'email', itemIndex), 'contact');
		const contact = await store.findContactByEmail(inbox.id, email);
		return contact ? asData(contact) : null;
	},
};
