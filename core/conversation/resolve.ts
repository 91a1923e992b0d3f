import type { IntakeItem } from '../item';
import { type Contact, type Conversation, type RecordMessageInput, type StoredMessage } from '../store/types';
import { InvalidInputError } from '../errors';
import type { SpoolStore, Store } from '../store/roles';

/** Settings of the Resolve Original Sender step, with the documented defaults. */
export interface ResolveOptions {
	createMissingContacts: boolean;
	/** Also create contacts for external addresses in Cc. */
	createCcContacts: boolean;
	/** An original sender the intake could not authenticate (e.g. an unsigned list rewrite). */
	untrustedSender: 'createAndFlag' | 'keepOuterSender';
}

export const DEFAULT_RESOLVE_OPTIONS: ResolveOptions = {
	createMissingContacts: true,
	createCcContacts: false,
	untrustedSender: 'createAndFlag',
};

export interface ContactPart {
	id: string;
	email: string;
	name: string | null;
	ownerId: string | null;
	created: boolean;
	/** Set when the contact stands for an original sender the intake could not authenticate. */
	flagged: boolean;
	flagReason: string | null;
}

export interface ResolvedPart {
	contact: ContactPart;
	conversation: {
		id: string;
		status: Conversation['status'];
		assigneeId: string | null;
		teamId: string | null;
		subject: string;
		/** This message started the conversation. */
		isNew: boolean;
		reopened: boolean;
		/**
		 * Set when In-Reply-To/References named a conversation the sender may not join (not its contact, a participant
		 * or an agent): the message opened this new conversation instead, and this says why. null otherwise.
		 */
		threadRefused: string | null;
	};
	message: { id: string; messageId: string };
	/** The Message-ID was already recorded: the earlier record is returned, nothing is written twice. */
	replay: boolean;
	ccContacts?: Array<{ id: string; email: string; name: string | null; created: boolean }>;
}

export type ResolveOutcome =
	| { status: 'resolved'; part: ResolvedPart }
	/** "Create missing contacts" is off and the sender is not a contact yet: nothing was recorded. */
	| { status: 'unknown-sender'; address: string; reason: string };

/** The author the message is filed under, and whether that choice carries a flag. */
export function chooseSender(item: IntakeItem, options: ResolveOptions): { address: string; name: string | null; flagReason: string | null } {
	const original = item.originalSender;
	// Never the envelope sender: anyone may write any MAIL FROM, and a message without one author is held by the intake.
	const outer = item.email.from;
	if (original.address && original.trusted) return { address: original.address, name: original.name, flagReason: null };
	const claim = original.address
		? `original sender ${original.address} (${original.method}) could not be authenticated${original.evidence.length ? `: ${original.evidence.join('; ')}` : ''}`
		: null;
	if (original.address && (options.untrustedSender === 'createAndFlag' || !outer)) {
		return { address: original.address, name: original.name, flagReason: claim };
	}
	if (!outer) throw new Error('The message names no author (its From is not exactly one mailbox), so it is filed under no contact');
	return { address: outer.address, name: outer.name || null, flagReason: null };
}

function authSummary(auth: unknown): string | null {
	if (!auth || typeof auth !== 'object') return null;
	const parts = ['spf', 'dkim', 'dmarc', 'arc'].flatMap((key) => {
		const result = (auth as Record<string, { result?: unknown } | undefined>)[key]?.result;
		return typeof result === 'string' ? [`${key}=${result}`] : [];
	});
	return parts.length ? parts.join(' ') : null;
}

/**
 * The item's inbox, which the trigger that emitted it registered: an item naming another (crafted, or from another
 * store) registers nothing, or it could become an address Send Team Email sends from.
 */
async function inboxId(store: Store, address: string): Promise<string> {
	const inbox = await store.getInbox(address);
	if (!inbox) throw new InvalidInputError(`The item's inbox ${address} is not an inbox of this store: items come from a Hosted Inbox Trigger on the same store, which registers its inbox`);
	return inbox.id;
}

/**
 * Who the message is from when it asks to join a conversation: the original sender when the intake authenticated
 * that claim, else the From header of a message that names its own author. An unproven claim made through a list
 * or a forward is nobody's (''): not the named author's, whose conversations it must not open, nor the list's or
 * forwarder's, whose address every poster of the list shares.
 */
function threadingSender(item: IntakeItem): string {
	const original = item.originalSender;
	if (original.trusted && original.address) return original.address;
	if (original.address && original.method !== 'from-header') return '';
	return item.email.from?.address ?? original.address ?? item.envelope.mailFrom ?? '';
}

function recordInput(inboxId: string, item: IntakeItem): Omit<RecordMessageInput, 'contactId'> {
	return {
		inboxId,
		direction: 'in',
		messageId: item.thread.messageId,
		contentHash: item.thread.contentHash ?? null,
		inReplyTo: item.thread.inReplyTo,
		references: item.thread.references,
		from: item.email.from?.address ?? item.originalSender.address ?? item.envelope.mailFrom ?? '',
		sender: threadingSender(item),
		senderAuthenticated: item.originalSender.trusted,
		to: item.email.to.map((a) => a.address),
		cc: item.email.cc.map((a) => a.address),
		subject: item.email.subject,
		conversationSubject: item.originalSender.subject ?? undefined,
		text: item.email.text,
		html: item.email.html,
		size: item.size,
		receivedAt: item.receivedAt,
		authSummary: authSummary(item.auth),
		originalSenderMethod: item.originalSender.method,
	};
}

/** The most Cc contacts one message makes: anyone may write a Cc of thousands (a 400 KB header is 20,000). */
export const MAX_CC_CONTACTS = 50;

async function ccContacts(store: Store, id: string, item: IntakeItem, skip: Set<string>): Promise<NonNullable<ResolvedPart['ccContacts']>> {
	const out: NonNullable<ResolvedPart['ccContacts']> = [];
	for (const cc of item.email.cc) {
		if (out.length === MAX_CC_CONTACTS) break;
		const email = cc.address.toLowerCase();
		// Only outside people become contacts: not the inbox, the forwarder, the author or an agent.
		if (skip.has(email) || (await store.getAgent(email))) continue;
		skip.add(email);
		const { contact, created } = await store.findOrCreateContact(id, { email, name: cc.name || null });
		out.push({ id: contact.id, email: contact.email, name: contact.name, created });
	}
	return out;
}

function contactPart(contact: Contact, created: boolean, flagReason: string | null): ContactPart {
	return { id: contact.id, email: contact.email, name: contact.name, ownerId: contact.ownerId, created, flagged: flagReason !== null, flagReason };
}

async function startedConversation(store: Store, message: StoredMessage): Promise<boolean> {
	const messages = await store.listMessages(message.conversationId);
	return messages[0]?.id === message.id;
}

/**
 * Delivered means recorded (or sent to Unknown Sender): the spool entry the item was emitted from is done, so no
 * sweep emits it again (the HTTP door's webhook runs are watched by nobody else). An id the spool does not hold (an item made by hand,
 * a quarantined entry) changes nothing; a store failure fails the item, and its re-emission is a harmless replay.
 */
async function completeSpooled(store: SpoolStore, id: string): Promise<void> {
	const failure = await store.spoolComplete(id).then(
		() => null,
		(error: unknown) => error,
	);
	if (failure && !(failure instanceof InvalidInputError)) throw failure;
}

/**
 * Files one accepted message under the contact of its original author (the intake's decision, never re-made here)
 * and records it in its conversation. A replay (same Message-ID, From and content) returns what was recorded the first time.
 */
export async function resolveOriginalSender(store: Store, item: IntakeItem, options: Partial<ResolveOptions> = {}): Promise<ResolveOutcome> {
	if (item.kind === 'forwarding-confirmation' || item.kind === 'forwarding-test') {
		// Provider confirmations and our forwarding tests never become contacts: the node is wired to the wrong output.
		throw new InvalidInputError(`This item is a ${item.kind}, which never becomes a contact: connect the trigger's Message output here, not its Forwarding confirmation output`);
	}
	if (item.verdict.action !== 'accept' && !item.released) {
		// Refused or held mail (the Rejected / quarantined output) is recorded by nobody until someone releases it.
		throw new InvalidInputError(
			`This message was ${item.verdict.action === 'quarantine' ? 'quarantined' : item.verdict.action === 'defer' ? 'deferred' : 'rejected'} (${item.verdict.reasons[0] ?? 'no reason given'}): it becomes no contact or conversation unless released from quarantine; connect the trigger's Message output here, not its Rejected / quarantined output`,
		);
	}
	const settings = { ...DEFAULT_RESOLVE_OPTIONS, ...options };
	const id = await inboxId(store, item.inbox.address);
	const sender = chooseSender(item, settings);
	const input = recordInput(id, item);

	let contact = await store.findContactByEmail(id, sender.address);
	let created = false;
	let contactId = contact?.id;
	if (!contactId) {
		const earlier = await store.findReplay(input);
		if (earlier) {
			// A replay is filed where it was filed the first time, whatever the settings say now.
			contactId = (await store.getConversation(earlier.conversationId))?.contactId;
		} else if (!settings.createMissingContacts) {
			// Decided as well: its Unknown Sender output records nothing, so no sweep may emit it again.
			if (item.spool) await completeSpooled(store, item.spool.id);
			return { status: 'unknown-sender', address: sender.address, reason: `${sender.address} is not a contact and "Create missing contacts" is off; nothing was recorded` };
		}
		if (!contactId) {
			({ contact, created } = await store.findOrCreateContact(id, { email: sender.address, name: sender.name }));
			contactId = contact.id;
		}
	}

	const result = await store.recordMessage({ ...input, contactId });
	if (item.spool) await completeSpooled(store, item.spool.id);
	const replay = result.outcome === 'duplicate';
	// A replay keeps the contact the message was first filed under.
	if (replay || !contact) contact = (await store.getContact(result.conversation.contactId)) as Contact;

	const part: ResolvedPart = {
		contact: contactPart(contact, created && !replay, sender.address.toLowerCase() === contact.email.toLowerCase() ? sender.flagReason : null),
		conversation: {
			id: result.conversation.id,
			status: result.conversation.status,
			assigneeId: result.conversation.assigneeId,
			teamId: result.conversation.teamId,
			subject: result.conversation.subject,
			isNew: replay ? await startedConversation(store, result.message) : result.outcome === 'new-conversation',
			reopened: result.reopened,
			threadRefused: result.message.threadRefused,
		},
		message: { id: result.message.id, messageId: result.message.messageId },
		replay,
	};
	if (settings.createCcContacts && settings.createMissingContacts) {
		const skip = new Set([item.inbox.address, contact.email, item.originalSender.forwardedBy ?? '', item.email.from?.address ?? ''].map((a) => a.toLowerCase()));
		part.ccContacts = await ccContacts(store, id, item, skip);
	}
	return { status: 'resolved', part };
}
