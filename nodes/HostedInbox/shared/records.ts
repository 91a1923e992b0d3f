import { type Conversation, type Ticket } from '../../../core/store/types';
import { InvalidInputError } from '../../../core/errors';
import type { Store } from '../../../core/store/roles';

export async function requireConversation(store: Store, id: string): Promise<Conversation> {
	const conversation = id ? await store.getConversation(id) : null;
	if (!conversation) throw new InvalidInputError(`Unknown conversation "${id}"`);
	return conversation;
}

export async function requireTicket(store: Store, id: string): Promise<Ticket> {
	const ticket = id ? await store.getTicket(id) : null;
	if (!ticket) throw new InvalidInputError(`Unknown ticket "${id}"`);
	return ticket;
}
