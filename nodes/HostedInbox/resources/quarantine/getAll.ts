import { listQuarantine } from '../../../../core/quarantine/quarantine';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { limitField, returnAllField } from '../../shared/fields';
import { requireInbox, text } from '../../shared/lookup';

export const getAll: Operation = {
	option: { name: 'Get Many', value: 'getAll', action: 'Get many quarantined messages', description: 'List held messages with why they are held, newest first' },
	properties: [
		returnAllField,
		limitField,
		{
			displayName: 'Inbox',
			name: 'inbox',
			type: 'string',
			default: '',
			placeholder: 'support@inbox.example.com',
			description: 'Only this inbox\'s held messages (its hosted address or ID); empty for all inboxes',
		},
	],
	async execute(store, itemIndex) {
		const inboxRef = text(this, 'inbox', itemIndex);
		const inboxId = inboxRef ? (await requireInbox(store, inboxRef)).id : undefined;
		const limit = this.getNodeParameter('returnAll', itemIndex, false) ? undefined : (this.getNodeParameter('limit', itemIndex, 50) as number);
		return (await listQuarantine(store, { ...(inboxId ? { inboxId } : {}), ...(limit ? { limit } : {}) })).map(asData);
	},
};
