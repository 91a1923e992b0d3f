import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { conversationIdField } from '../../shared/fields';
import { text } from '../../shared/lookup';
import { requireConversation } from '../../shared/records';

export const close: Operation = {
	option: { name: 'Close', value: 'close', action: 'Close a conversation', description: 'Close a conversation (a later reply reopens it)' },
	properties: [conversationIdField],
	async execute(store, itemIndex) {
		const conversation = await requireConversation(store, text(this, 'conversationId', itemIndex));
		return asData(await store.closeConversation(conversation.id));
	},
};
