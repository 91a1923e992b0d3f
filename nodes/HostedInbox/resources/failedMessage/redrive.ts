import { redriveFailed } from '../../../../core/spool/spool';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';

export const redrive: Operation = {
	option: {
		name: 'Re-Drive',
		value: 'redrive',
		action: 'Re-drive a failed message',
		description: "Emit a failed message again: the inbox's active trigger emits it from its Message output within seconds, with all its attempts",
	},
	properties: [
		{
			displayName: 'Failed Message ID',
			name: 'failedMessageId',
			type: 'string',
			required: true,
			default: '',
			description: 'The ID of the failed message (from Get Many, the health check, or the error the trigger reported)',
		},
		{
			displayName: 'Check Again',
			name: 'recheck',
			type: 'boolean',
			default: false,
			description: 'Whether to run the security checks again (DNS included) and decide anew, instead of the decision it was answered with; a message they would not accept now is held in the quarantine',
		},
	],
	async execute(store, itemIndex) {
		return asData(await redriveFailed(store, text(this, 'failedMessageId', itemIndex), { recheck: this.getNodeParameter('recheck', itemIndex, false) === true }));
	},
};
