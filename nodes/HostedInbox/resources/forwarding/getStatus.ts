import { forwardingStatus } from '../../../../core/forwarding/status';
import { inboxFilterField } from '../../shared/fields';
import { text } from '../../shared/lookup';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';

export const getStatus: Operation = {
	option: {
		name: 'Get Forwarding Status',
		value: 'getStatus',
		action: 'Get forwarding status',
		description: 'The latest forwarding check per inbox (unknown, waiting, verified or failed); a failed one lists its likely causes',
	},
	properties: [inboxFilterField('forwarding status')],
	async execute(store, itemIndex) {
		const inbox = text(this, 'inbox', itemIndex);
		return (await forwardingStatus(store, inbox || undefined)).map(asData);
	},
};
