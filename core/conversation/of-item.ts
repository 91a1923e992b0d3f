import { InvalidInputError } from '../errors';
import type { ConversationStore, InboxStore } from '../store/roles';
import type { Conversation } from '../store/types';

/**
 * The conversation an item names, which must be one of the item's own inbox: an item is data any node upstream (or
 * an expression) may have changed, and a workflow of one inbox must not route or ticket another inbox's mail.
 */
export async function conversationOfItem(store: InboxStore & ConversationStore, item: { inbox: { address: string }; conversation: { id: string } }): Promise<Conversation> {
	const [conversation, inbox] = await Promise.all([store.getConversation(item.conversation.id), store.getInbox(item.inbox.address)]);
	if (!conversation) throw new InvalidInputError(`Conversation ${item.conversation.id} is not in the store`);
	if (!inbox || conversation.inboxId !== inbox.id) throw new InvalidInputError(`Conversation ${conversation.id} belongs to another inbox than the item's (${item.inbox.address})`);
	return conversation;
}
