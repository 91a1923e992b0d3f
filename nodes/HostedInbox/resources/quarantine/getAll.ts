import { listQuarantine } from '../../../../core/quarantine/quarantine';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { inboxFilterField, limitField, returnAllField } from '../../shared/fields';
import { listingFilter } from '../../shared/lookup';

export const getAll: Operation = {
	option: { name: 'Get Many', value: 'getAll', action: 'Get many quarantined messages', description: 'List held messages with why they are held, newest first' },
	properties: [returnAllField, limitField, inboxFilterField('held messages')],
	async execute(store, itemIndex) {
		return (await listQuarantine(store, await listingFilter(this, store, itemIndex))).map(asData);
	},
};
