import { forwardingStatus } from '../../../../core/forwarding/status';
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
	properties: [
		{
			displayName: 'Inbox',
			name: 'inbox',
			type: 'string',
			default: '',
			placeholder: 'support@inbox.example.com',
			description: 'Only this inbox (its hosted address or ID); empty for every inbox',
		},
	],
	async execute(store, itemIndex) {
		const inbox = text(this, 'inbox', itemIndex);
		return (await forwardingStatus(store, inbox || undefined)).map(asData);
	},
};
