/**
 * Threading: the conversation a recorded message joins, decided by an ordered list of strategies (as Chatwoot's
 * conversation finder): the first that answers decides; none answering files a new conversation. It runs inside
 * recordMessage's transaction.
 *
 * In-Reply-To / References lead to conversations (our outbound ids are stored messages too). Anyone can write these
 * headers and a Message-ID is no secret, so an inbound message joins one only when its sender is an authenticated
 * agent, or that conversation's contact or a participant in it; otherwise it is refused, and why. A Message-ID
 * anyone may reuse (a stranger's copy is recorded, not dropped) leads to the first conversations that hold it only,
 * and a participant is looked for in a conversation's latest messages only: the work a message's headers ask for is
 * bounded, however often an id was reused or however long a conversation grew.
 */
import { domainOf } from '../../address';
import { InvalidInputError } from '../../errors';
import { likeAny } from '../mentions';
import type { Row, SqlExecutor } from '../sql';

import { conversationRow } from './references';
import { json, one, text, unique } from './rows';

/** What threading reads of the message being recorded. */
export interface ThreadingInput {
	inbox: Row;
	/** The conversation the caller named (a reply sent from it). */
	conversationId?: string;
	/** The Message-IDs the message refers to: In-Reply-To first, then References from the most recent back, as mail clients order them. */
	keys: string[];
	/**
	 * The inbound message's sender; null for an outbound message, which follows its headers; '' for an inbound one
	 * whose sender the intake could not establish (an unproven claim through a list or a forward), which follows none.
	 */
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

/** The latest messages of a conversation whose addresses make its participants. */
const PARTICIPANT_MESSAGES = 500;

/**
 * Whether an address is the team's own: on the domain of the inbox, of its from-address or of an agent (a group or
 * alias that forwards to the inbox, a colleague of the agents).
 */
async function internal(q: SqlExecutor, inbox: Row, address: string): Promise<boolean> {
	const domain = domainOf(address);
	if (!domain || [String(inbox.address_key), text(inbox.from_address)].some((own) => domainOf(own) === domain)) return true;
	const agents = await q.all("SELECT email_key FROM agents WHERE email_key LIKE $1 ESCAPE '\\'", [likeAny(`@${domain}`)]);
	return agents.some((agent) => domainOf(String(agent.email_key)) === domain);
}

/**
 * Anyone else joins the first named conversation whose contact or participant they are: an address in the To or Cc
 * of its latest messages, or the From of those of its inbound ones the From wrote (not a list's or a forwarder's
 * address, which stands for others). The inbox's own addresses and the agents' are no participants (an agent joins
 * only authenticated, agentReply); another of the team's own (a group that forwards to the inbox is in the To of
 * every message it brought) is one only when its mail authenticates: anyone can write such a From.
 */
const participantReply: ThreadingStrategy = async (thread) => {
	const { q, senderKey, inbox } = thread;
	const candidates = await thread.candidates();
	if (!senderKey || candidates.length === 0) return undefined;
	if (senderKey === String(inbox.address_key) || senderKey === text(inbox.from_address)?.toLowerCase()) return undefined;
	if (await one(q, 'SELECT id FROM agents WHERE email_key = $1', [senderKey])) return undefined;
	const mayParticipate = thread.senderAuthenticated || !(await internal(q, inbox, senderKey));
	for (const id of candidates) {
		if (await one(q, 'SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = $1 AND ct.email_key = $2', [id, senderKey])) return joins(thread, id);
		if (!mayParticipate) continue;
		const messages = await q.all(
			`SELECT direction, from_address, original_sender_method, to_addresses, cc_addresses FROM messages WHERE conversation_id = $1 ORDER BY received_at DESC LIMIT ${PARTICIPANT_MESSAGES}`,
			[id],
		);
		const named = (address: string) => address.trim().toLowerCase() === senderKey;
		const participant = messages.some(
			(m) =>
				(m.direction === 'in' && (m.original_sender_method ?? 'from-header') === 'from-header' && named(String(m.from_address))) ||
				json<string[]>(m.to_addresses, []).some(named) ||
				json<string[]>(m.cc_addresses, []).some(named),
		);
		if (participant) return joins(thread, id);
	}
	return undefined;
};

/** A thread the sender may not join: a new conversation, noting which one was refused. */
const refusedReply: ThreadingStrategy = async ({ candidates, sender }) => {
	const named = await candidates();
	if (named.length === 0) return undefined;
	const why = sender
		? `${sender} is not its contact, a participant in it or an authenticated agent`
		: 'an original sender the intake could not authenticate (named through a list or a forward) follows no thread';
	return { conversation: null, refused: `In-Reply-To/References name conversation ${named.join(', ')}, but ${why}: filed as a new conversation` };
};

const THREADING: ThreadingStrategy[] = [namedByCaller, outboundReply, agentReply, participantReply, refusedReply];

/** The earliest messages with one Message-ID that lead to their conversations: a reused id leads no further. */
const MESSAGES_PER_KEY = 5;
/** The conversations one message's headers may lead to. */
const MAX_CANDIDATES = 20;
/** The ids of a message looked up (In-Reply-To first, then References from the newest): the intake keeps 100 of each. */
const MAX_KEYS = 200;

/**
 * The conversations the earliest stored messages with these Message-IDs belong to, in the keys' order, each once
 * (each key's first few, by the index on inbox, Message-ID and time).
 */
async function conversationsNamed(q: SqlExecutor, inbox: Row, keys: string[]): Promise<string[]> {
	keys = keys.slice(0, MAX_KEYS);
	if (keys.length === 0) return [];
	const perKey = keys.map(
		(_, i) => `SELECT * FROM (SELECT message_id, conversation_id FROM messages WHERE inbox_id = $1 AND message_id = $${i + 2} ORDER BY created_at, id LIMIT ${MESSAGES_PER_KEY}) named${i}`,
	);
	const found = await q.all(perKey.join(' UNION ALL '), [String(inbox.id), ...keys]);
	return unique(keys.flatMap((key) => found.filter((row) => row.message_id === key).map((row) => String(row.conversation_id)))).slice(0, MAX_CANDIDATES);
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
