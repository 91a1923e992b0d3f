/**
 * Threading: the conversation a recorded message joins, decided by an ordered list of strategies (as Chatwoot's
 * conversation finder): the first that answers decides; none answering files a new conversation. It runs inside
 * recordMessage's transaction.
 *
 * In-Reply-To / References lead to conversations (our outbound ids are stored messages too). Anyone can write these
 * headers and a Message-ID is no secret, so an inbound message joins one only when its sender is an authenticated
 * agent, or that conversation's contact or a participant in it; otherwise it is refused, and why.
 */
import { placeholders, type Row, type SqlExecutor } from '../sql';
import { InvalidInputError } from '../../errors';

import { conversationRow } from './references';
import { json, one, text, unique } from './rows';

/** What threading reads of the message being recorded. */
export interface ThreadingInput {
	inbox: Row;
	/** The conversation the caller named (a reply sent from it). */
	conversationId?: string;
	/** The Message-IDs the message refers to: In-Reply-To first, then References from the most recent back, as mail clients order them. */
	keys: string[];
	/** The inbound message's sender; null for an outbound message, which follows its headers. */
	sender: string | null;
	senderAuthenticated: boolean;
}

/** The conversation joined, or none (a new conversation) and why a thread was refused, if one was. */
export type Threading = { conversation: Row; refused: null } | { conversation: null; refused: string | null };

interface Thread extends ThreadingInput {
	q: SqlExecutor;
	senderKey: string | null;
	/** The conversations the keys name, in the keys' order (looked up once, when a strategy first asks). */
	candidates(): Promise<string[]>;
}

type ThreadingStrategy = (thread: Thread) => Promise<Threading | undefined>;

const joins = async (thread: Thread, conversationId: string): Promise<Threading> => ({ conversation: await conversationRow(thread.q, conversationId), refused: null });

/** The conversation the caller named; it must be in the message's inbox. */
const namedByCaller: ThreadingStrategy = async ({ q, inbox, conversationId }) => {
	if (!conversationId) return undefined;
	const conversation = await conversationRow(q, conversationId);
	if (conversation.inbox_id !== String(inbox.id)) throw new InvalidInputError(`Conversation ${conversationId} is not in the inbox ${String(inbox.address)}`);
	return { conversation, refused: null };
};

/** An outbound message follows its headers to the first conversation they name. */
const outboundReply: ThreadingStrategy = async (thread) => {
	if (thread.senderKey !== null) return undefined;
	const [first] = await thread.candidates();
	return first === undefined ? undefined : joins(thread, first);
};

/** An authenticated agent's message follows its headers too. */
const agentReply: ThreadingStrategy = async (thread) => {
	if (!thread.senderKey || !thread.senderAuthenticated) return undefined;
	const [first] = await thread.candidates();
	if (first === undefined || !(await one(thread.q, 'SELECT id FROM agents WHERE email_key = $1', [thread.senderKey]))) return undefined;
	return joins(thread, first);
};

/**
 * Anyone else joins the first named conversation whose contact or participant they are (an address in its From,
 * To or Cc, the inbox's own addresses aside).
 */
const participantReply: ThreadingStrategy = async (thread) => {
	const candidates = await thread.candidates();
	if (thread.senderKey === null || candidates.length === 0) return undefined;
	const list = placeholders(1, candidates.length);
	const contacts = await thread.q.all(`SELECT c.id, ct.email_key FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id IN (${list})`, candidates);
	const messages = await thread.q.all(`SELECT conversation_id, direction, from_address, to_addresses, cc_addresses FROM messages WHERE conversation_id IN (${list})`, candidates);
	const ours = new Set([String(thread.inbox.address_key), text(thread.inbox.from_address)?.toLowerCase()]);
	for (const id of candidates) {
		const participants = new Set(contacts.filter((c) => c.id === id).map((c) => String(c.email_key)));
		for (const m of messages.filter((row) => row.conversation_id === id)) {
			const addresses = [...(m.direction === 'in' ? [String(m.from_address)] : []), ...json<string[]>(m.to_addresses, []), ...json<string[]>(m.cc_addresses, [])];
			for (const address of addresses) if (!ours.has(address.trim().toLowerCase())) participants.add(address.trim().toLowerCase());
		}
		if (thread.senderKey && participants.has(thread.senderKey)) return joins(thread, id);
	}
	return undefined;
};

/** A thread the sender may not join: a new conversation, noting which one was refused. */
const refusedReply: ThreadingStrategy = async ({ candidates, sender }) => {
	const named = await candidates();
	if (named.length === 0) return undefined;
	return {
		conversation: null,
		refused: `In-Reply-To/References name conversation ${named.join(', ')}, but ${sender || 'the sender'} is not its contact, a participant in it or an authenticated agent: filed as a new conversation`,
	};
};

const THREADING: ThreadingStrategy[] = [namedByCaller, outboundReply, agentReply, participantReply, refusedReply];

/** The conversations the stored messages with these Message-IDs belong to, in the keys' order, each once. */
async function conversationsNamed(q: SqlExecutor, inbox: Row, keys: string[]): Promise<string[]> {
	if (keys.length === 0) return [];
	const found = await q.all(`SELECT message_id, conversation_id FROM messages WHERE inbox_id = $1 AND message_id IN (${placeholders(2, keys.length)}) ORDER BY created_at, id`, [
		String(inbox.id),
		...keys,
	]);
	return unique(keys.flatMap((key) => found.filter((row) => row.message_id === key).map((row) => String(row.conversation_id))));
}

export async function threadOf(q: SqlExecutor, input: ThreadingInput): Promise<Threading> {
	let candidates: Promise<string[]> | undefined;
	const thread: Thread = {
		...input,
		q,
		senderKey: input.sender?.trim().toLowerCase() ?? null,
		candidates: () => (candidates ??= conversationsNamed(q, input.inbox, input.keys)),
	};
	for (const strategy of THREADING) {
		const threading = await strategy(thread);
		if (threading) return threading;
	}
	return { conversation: null, refused: null };
}
