import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { conversationIdField } from '../../shared/fields';
import { text } from '../../shared/lookup';
import { requireConversation } from '../../shared/records';

export const get: Operation = {
	option: { name: 'Get', value: 'get', action: 'Get a conversation', description: 'Get a conversation, optionally with its messages and assignment history' },
	properties: [
		conversationIdField,
		{
			displayName: 'Include Messages',
			name: 'includeMessages',
			type: 'boolean',
			default: false,
			description: 'Whether to include the conversation\'s messages',
		},
		{
			displayName: 'Include Assignment History',
			name: 'includeAssignments',
			type: 'boolean',
			default: false,
			description: 'Whether to include who was assigned, by which rule and why',
		},
	],
	async execute(store, itemIndex) {
		const conversation = await requireConversation(store, text(this, 'conversationId', itemIndex));
		const result = asData(conversation);
		if (this.getNodeParameter('includeMessages', itemIndex, false)) result.messages = (await store.listMessages(conversation.id)).map(asData);
		if (this.getNodeParameter('includeAssignments', itemIndex, false)) result.assignments = (await store.listAssignmentLog(conversation.id)).map(asData);
		return result;
	},
};
