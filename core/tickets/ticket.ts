import type { TicketItem } from '../item';
import { type Ticket } from '../store/types';
import { InvalidInputError } from '../errors';
import { conversationOfItem } from '../conversation/of-item';
import type { AgentStore, ConversationStore, InboxStore, TicketStore } from '../store/roles';
import { DEFAULT_TICKET_STAGE } from './stage';

/** Ticket properties of the inbox's "Tickets" settings; empty values take the documented defaults. */
export interface TicketOptions {
	/** Default: the email subject (for a team member's forward, the forwarded message's subject), or "(no subject)". */
	name?: string;
	/** Default: the store's default pipeline. */
	pipeline?: string;
	/** Default: DEFAULT_TICKET_STAGE. */
	stage?: string;
	priority?: string | null;
	/** Agent ID or email. Default: the conversation's assignee (ticketContextOf). */
	owner?: string | null;
	properties?: Record<string, unknown>;
	/** Where the ticket of a closed conversation goes when a reply reopens it. Default: DEFAULT_TICKET_STAGE. */
	reopenStage?: string;
}

export const NO_SUBJECT = '(no subject)';

export interface TicketResult {
	ticket: Ticket;
	created: boolean;
	/** A reply reopened the conversation and its closed ticket was moved back to an open stage. */
	reopened: boolean;
}

const blank = (value: string | null | undefined) => value === undefined || value === null || value.trim() === '';

/** What a ticket takes from the message it is made or found for. */
export interface TicketContext {
	subject: string;
	assigneeId: string | null;
	/** The message reopened its conversation. */
	conversationReopened: boolean;
	/**
	 * A replay in an open conversation (the same message emitted again, its first run failed past Resolve Original
	 * Sender): when it arrived. Its first run may have reopened the conversation, which a replay cannot tell; a message
	 * that arrived after the ticket was closed moves it back, an older one does not.
	 */
	replayReceivedAt?: string;
}

/**
 * A new ticket's owner: the Owner option's agent, else the conversation's assignee. An agent deactivated since (a
 * contact owner who left, named by an expression) owns no new ticket, as Route Conversation gives them nothing: the
 * ticket falls back to the assignee, else nobody.
 */
async function ownerOf(store: AgentStore, options: TicketOptions, context: TicketContext): Promise<string | null> {
	if (!blank(options.owner)) {
		const named = await store.getAgent(options.owner as string);
		if (!named) throw new InvalidInputError(`Ticket owner "${options.owner}" is not an agent in the store`);
		if (named.active) return named.id;
	}
	const assignee = context.assigneeId ? await store.getAgent(context.assigneeId) : null;
	return assignee?.active ? assignee.id : null;
}

/**
 * One ticket per conversation: creates it the first time, returns it on every reply or replay,
 * and moves a closed ticket back to an open stage when a reply reopened its conversation.
 */
export async function createTicket(
	store: AgentStore & TicketStore,
	conversationId: string,
	context: TicketContext,
	options: TicketOptions = {},
): Promise<TicketResult> {
	const ownerId = await ownerOf(store, options, context);
	const { ticket, created } = await store.createTicketOnce(conversationId, {
		name: blank(options.name) ? (context.subject.trim() || NO_SUBJECT) : (options.name as string),
		...(blank(options.pipeline) ? {} : { pipeline: options.pipeline }),
		stage: blank(options.stage) ? DEFAULT_TICKET_STAGE : options.stage,
		priority: blank(options.priority) ? null : options.priority,
		ownerId,
		properties: options.properties ?? {},
	});
	const { closedAt } = ticket;
	const reopens = closedAt !== null && (context.conversationReopened || (context.replayReceivedAt !== undefined && context.replayReceivedAt > closedAt));
	if (!created && reopens) {
		const stage = blank(options.reopenStage) ? DEFAULT_TICKET_STAGE : (options.reopenStage as string);
		return { ticket: await store.updateTicket(ticket.id, { stage }), created, reopened: true };
	}
	return { ticket, created, reopened: false };
}

/**
 * What a ticket takes from its item: the subject (a team member's forward: the forwarded message's), the owner
 * default, and whether the reply reopened the conversation (or, for a replay, when it arrived). The owner default
 * is Route Conversation's decision when it ran (unassigned included), otherwise the conversation's assignee.
 */
export function ticketContextOf(item: TicketItem): TicketContext {
	return {
		subject: item.originalSender.subject || item.email.subject,
		assigneeId: item.assignment ? (item.assignment.assignee?.id ?? null) : item.conversation.assigneeId,
		conversationReopened: item.conversation.reopened,
		...(item.replay && item.conversation.status === 'open' ? { replayReceivedAt: item.receivedAt } : {}),
	};
}

/** The ticket of the item's conversation (createTicket with the item's context), a conversation of the item's inbox. */
export async function createTicketForItem(store: InboxStore & ConversationStore & AgentStore & TicketStore, item: TicketItem, options: TicketOptions = {}): Promise<TicketResult> {
	const conversation = await conversationOfItem(store, item);
	return await createTicket(store, conversation.id, ticketContextOf(item), options);
}
