import { domainOf } from '../address';
import { headerSectionLength } from '../intake/headers';
import { publicKeyOf } from '../sending-domain/keys';
import { recheckSendingDomain, type DnsResolver } from '../sending-domain/verify';
import { bodyHash, newOutboundMessageId } from '../store/message-id';
import type { Agent, Contact, Conversation, Inbox, StoredMessage } from '../store/types';
import type { Store } from '../store/roles';
import { automaticReplyRefusal, type AnsweredMessage } from './automatic';
import { buildTeamEmail, type Mailbox } from './compose';
import type { DkimKey } from './dkim';
import { OutboundError, UnrecordedEmailError } from './errors';
import { composeFromName, registeredFromName, type FromNameSetting } from './from-name';
import { escapeHtml, htmlToText, renderSignature } from './signature';
import { replySubject } from './subject';
import { replyThreadHeaders } from './threading';
import type { SendRaw, SmtpDelivery } from './transport';
import { emailAddress, headerText, storedHeaderText } from './validate';

export interface TeamEmailRequest {
	/** The hosted address of the inbox the team answers from. */
	inboxAddress: string;
	/** The sending agent (id or email); their name fills the from-name and the signature tokens. */
	agent: string;
	fromName: FromNameSetting;
	/** A custom from-address on a verified sending domain; empty = the inbox's hosted address. */
	fromAddress?: string | null;
	/** Reply in this conversation (to its contact, the original sender)... */
	conversationId?: string | null;
	/** ...or start a new conversation with a contact. */
	newConversation?: { contactEmail: string; contactName?: string | null; subject: string } | null;
	body: { text?: string | null; html?: string | null };
	/** Team signature HTML with {{full_name}} / {{first_name}}. */
	signature?: string | null;
	/** Added recipients; the forwarder or the group only ever receives the reply when added here. */
	extraTo?: string[];
	cc?: string[];
	/** An automatic message (an acknowledgement): marked Auto-Submitted, never sent in answer to auto-replies, bounces or list mail. */
	automatic?: boolean;
	/** What the automatic message answers (from the intake item). */
	answering?: AnsweredMessage | null;
	now?: Date;
}

export interface TeamEmailDeps {
	store: Store;
	send: SendRaw;
	/** The DKIM key from the sending-domain credential, needed for a custom from-address. */
	signingKey?: DkimKey | null;
	/** Checks an unverified sending domain again before refusing (the user may just have published the records). */
	resolver?: DnsResolver | null;
}

export interface TeamEmailResult {
	inbox: Inbox;
	conversation: Conversation;
	contact: Contact;
	agent: Agent;
	message: StoredMessage;
	messageId: string;
	from: { name: string; address: string };
	to: string[];
	cc: string[];
	subject: string;
	inReplyTo: string[];
	references: string[];
	dkim: { domain: string; selector: string } | null;
	delivery: SmtpDelivery;
	size: number;
}

function addresses(field: string, list: string[] | undefined): string[] {
	return (list ?? []).map((a) => a.trim()).filter(Boolean).map((a) => emailAddress(field, a));
}

function bodyParts(body: TeamEmailRequest['body']): { text: string; html: string } {
	const html = body.html?.trim();
	if (html) return { html, text: htmlToText(html) };
	const text = (body.text ?? '').trim();
	if (!text) throw new OutboundError('invalid-header', 'The team email has no message body');
	return { text, html: text.split(/\r?\n/).map((line) => escapeHtml(line)).join('<br>\n') };
}

async function checkedSendingDomain(domain: string, deps: TeamEmailDeps): Promise<DkimKey> {
	let sending = await deps.store.getSendingDomain(domain);
	if (!sending) {
		throw new OutboundError(
			'unverified-sending-domain',
			`The from-address domain ${domain} is not a connected sending domain: run Hosted Inbox > Sending Domain > Connect for ${domain}, publish the DNS records it returns, then Verify`,
		);
	}
	if (!sending.verified) {
		let summary = typeof sending.lastCheck?.summary === 'string' ? sending.lastCheck.summary : `${domain} has not been verified yet (run Hosted Inbox > Sending Domain > Verify)`;
		if (deps.resolver) {
			const rechecked = await recheckSendingDomain(deps.store, sending, deps.resolver);
			sending = rechecked.domain;
			summary = rechecked.check.summary;
		}
		if (!sending.verified) throw new OutboundError('unverified-sending-domain', `Custom from-address refused: ${summary}`);
	}
	const key = deps.signingKey;
	if (!key?.privateKey) {
		throw new OutboundError('sending-key-mismatch', `A custom from-address on ${domain} needs its Hosted Inbox Sending Domain credential (the private key Connect returned)`);
	}
	if (key.domain.trim().toLowerCase() !== domain || key.selector.trim().toLowerCase() !== sending.selector) {
		throw new OutboundError('sending-key-mismatch', `The sending-domain credential is for ${key.selector}._domainkey.${key.domain}, but the from-address needs ${sending.selector}._domainkey.${domain}`);
	}
	if (publicKeyOf(key.privateKey) !== sending.publicKey) {
		throw new OutboundError('sending-key-mismatch', `The private key in the sending-domain credential does not match the public key published for ${sending.selector}._domainkey.${domain} (was the domain connected again?)`);
	}
	return { domain, selector: sending.selector, privateKey: key.privateKey };
}

/**
 * Sends one team email: validates everything and refuses before anything is sent (header injection, unknown
 * signature token, a from-name held by another inbox, an unverified custom domain, an automatic answer to
 * an auto-reply), then composes, DKIM-signs, sends over SMTP and records the message in the conversation.
 */
export async function sendTeamEmail(request: TeamEmailRequest, deps: TeamEmailDeps): Promise<TeamEmailResult> {
	const { store } = deps;
	const inboxAddress = emailAddress('Inbox address', request.inboxAddress);
	const fromAddress = request.fromAddress?.trim() ? emailAddress('From-address', request.fromAddress) : inboxAddress;
	const extraTo = addresses('Added recipient', request.extraTo);
	const cc = addresses('Cc', request.cc);
	const body = bodyParts(request.body);
	registeredFromName(request.fromName);

	const agent = await store.getAgent(headerText('Agent', request.agent));
	if (!agent) throw new OutboundError('missing-agent', `Unknown agent ${JSON.stringify(request.agent)}: create the agent in the store first (Hosted Inbox > Agent > Create)`);
	if (!agent.active) throw new OutboundError('missing-agent', `Agent ${agent.email} is deactivated: a deactivated agent sends nothing in the team's name (Hosted Inbox > Agent > Update to activate)`);
	const fromName = composeFromName(request.fromName, agent.fullName);
	const signature = request.signature?.trim() ? renderSignature(request.signature, agent) : null;

	if (request.automatic) {
		if (!request.answering) throw new OutboundError('missing-incoming-message', 'An automatic message needs the incoming message it answers (the trigger item), to make sure it never answers an auto-reply, a bounce or list mail');
		const reason = automaticReplyRefusal(request.answering, [inboxAddress, fromAddress]);
		if (reason) throw new OutboundError('automatic-reply-refused', `Automatic message not sent: ${reason}`);
	}

	// Reading first: a wrong conversation must not register anything.
	let conversation: Conversation | null = null;
	let contact: Contact | null = null;
	let history: StoredMessage[] = [];
	let subject: string;
	if (request.conversationId) {
		conversation = await store.getConversation(request.conversationId);
		if (!conversation) throw new OutboundError('missing-conversation', `Unknown conversation ${request.conversationId}`);
		contact = await store.getContact(conversation.contactId);
		if (!contact) throw new OutboundError('missing-conversation', `Conversation ${conversation.id} has no contact`);
		history = await store.listMessages(conversation.id);
		subject = replySubject(conversation.subject);
	} else if (request.newConversation) {
		emailAddress('Contact email', request.newConversation.contactEmail);
		headerText('Contact name', request.newConversation.contactName ?? '');
		subject = headerText('Subject', request.newConversation.subject);
		if (!subject) throw new OutboundError('invalid-header', 'A new conversation needs a subject');
	} else {
		throw new OutboundError('missing-conversation', 'Give the conversation to reply in, or the contact and subject of a new conversation');
	}

	// Only an inbox a trigger registered sends: whoever writes the Inbox field must not choose any From.
	const hosted = await store.getInbox(inboxAddress);
	if (!hosted) throw new OutboundError('missing-inbox', `${inboxAddress} is not a hosted inbox of this store: activate the Hosted Inbox Trigger that receives its mail (it registers the inbox), or correct the Inbox field`);
	if (conversation && conversation.inboxId !== hosted.id) throw new OutboundError('missing-conversation', `Conversation ${conversation.id} belongs to another inbox than ${inboxAddress}`);
	const fromDomain = domainOf(fromAddress)!; // a checked address has a domain
	const dkim = fromAddress === inboxAddress ? await hostedDomainKey(fromDomain, deps) : await checkedSendingDomain(fromDomain, deps);

	// Every check passed: the inbox takes the from-name (and from-address) it sends with, and a new contact is made.
	const inbox = await store.registerInbox({ address: hosted.address, fromName: registeredFromName(request.fromName), fromAddress: request.fromAddress?.trim() ? fromAddress : null }).catch((error: Error) => {
		throw error.name === 'InvalidInputError' && /from-name/i.test(error.message) ? new OutboundError('from-name-taken', error.message) : error;
	});
	if (!contact) {
		const nc = request.newConversation!;
		contact = (await store.findOrCreateContact(inbox.id, { email: nc.contactEmail, name: nc.contactName ?? null })).contact;
	}

	const thread = replyThreadHeaders(history);
	const messageId = newOutboundMessageId(fromDomain);
	const to = [...new Set([contact.email.toLowerCase(), ...extraTo])];
	const html = signature ? `${body.html}\n<br>\n<div class="hosted-inbox-signature">${signature.html}</div>` : body.html;
	const text = signature ? `${body.text}\n\n-- \n${signature.text}` : body.text;
	const date = request.now ?? new Date();
	const raw = await buildTeamEmail(
		{
			from: { name: fromName, address: fromAddress },
			to: to.map((address): Mailbox => ({ address, name: address === contact!.email.toLowerCase() && contact!.name ? storedHeaderText(contact!.name) : null })),
			cc: cc.map((address) => ({ address })),
			subject,
			text,
			html,
			messageId,
			inReplyTo: thread.inReplyTo,
			references: thread.references,
			automatic: Boolean(request.automatic),
			date,
		},
		dkim,
	);

	const delivery = await deps.send(raw, { from: fromAddress, to: [...to, ...cc] });
	const recorded = await store
		.recordMessage({
			inboxId: inbox.id,
			contactId: contact.id,
			conversationId: conversation?.id,
			direction: 'out',
			messageId,
			// The body as sent: our own mail coming back (a forwarding loop) is then recognised as a replay.
			contentHash: await bodyHash([raw.subarray(headerSectionLength(raw))]),
			inReplyTo: thread.inReplyTo,
			references: thread.references,
			from: fromAddress,
			to,
			cc,
			subject,
			text,
			html,
			size: raw.length,
			receivedAt: date.toISOString(),
			authSummary: dkim ? `dkim=signed d=${dkim.domain} s=${dkim.selector}` : null,
			originalSenderMethod: null,
			senderAgentId: agent.id,
		})
		.catch((error: Error) => {
			throw new UnrecordedEmailError(messageId, `The email was sent (Message-ID <${messageId}>, server said ${delivery.response}) but could not be recorded in the conversation: ${error.message}`);
		});
	return {
		inbox,
		conversation: recorded.conversation,
		contact,
		agent,
		message: recorded.message,
		messageId,
		from: { name: fromName, address: fromAddress },
		to,
		cc,
		subject,
		inReplyTo: thread.inReplyTo,
		references: thread.references,
		dkim: dkim ? { domain: dkim.domain, selector: dkim.selector } : null,
		delivery,
		size: raw.length,
	};
}

/** The hosted address is ours; it is DKIM-signed too when its domain is a verified sending domain whose key was given. */
async function hostedDomainKey(domain: string, deps: TeamEmailDeps): Promise<DkimKey | null> {
	if (!deps.signingKey?.privateKey || deps.signingKey.domain.trim().toLowerCase() !== domain) return null;
	return await checkedSendingDomain(domain, deps);
}
