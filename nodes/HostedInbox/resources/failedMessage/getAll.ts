import { listSpool } from '../../../../core/spool/spool';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { inboxFilterField, limitField, returnAllField } from '../../shared/fields';
import { listingFilter } from '../../shared/lookup';

export const getAll: Operation = {
	option: {
		name: 'Get Many',
		value: 'getAll',
		action: 'Get many failed messages',
		description: 'List messages given up after their last failed execution, newest first, with the error',
	},
	properties: [returnAllField, limitField, inboxFilterField('failed messages')],
	async execute(store, itemIndex) {
		return (await listSpool(store, { ...(await listingFilter(this, store, itemIndex)), statuses: ['failed'] })).map(asData);
	},
};
