import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { conversationIdField } from '../../shared/fields';
import { text } from '../../shared/lookup';
import { requireConversation } from '../../shared/records';

export const reopen: Operation = {
	option: { name: 'Reopen', value: 'reopen', action: 'Reopen a conversation', description: 'Reopen a closed conversation' },
	properties: [conversationIdField],
	async execute(store, itemIndex) {
		const conversation = await requireConversation(store, text(this, 'conversationId', itemIndex));
		return asData(await store.reopenConversation(conversation.id));
	},
};
