import { domainOf } from '../address';
import { NOT_ANSWERED, type Flag } from '../flags';
import { answerableItemSchema, type AnswerableItem } from '../item';

/**
 * What an automatic message (an acknowledgement, say) needs to know about the mail it answers: read from the
 * trigger's item after Resolve Original Sender (answeredMessageOf).
 */
export interface AnsweredMessage {
	kind: string;
	/** The intake's verdict: only accepted mail is answered, never quarantined mail. */
	action: string | null;
	/** Envelope sender; an empty one (`<>`) is a bounce. null when unknown (IMAP). */
	mailFrom: string | null;
	/** The intake's verdict flags (automated, list and our own mail included), plus those Resolve Original Sender set. */
	flags: Flag[];
	/** Who the answer would go to, and whether the intake authenticated that claim. */
	originalSender: { address: string | null; method: string; trusted: boolean } | null;
	/** The item's authentication results (SPF, DKIM, DMARC), for a From-header sender. */
	auth: {
		spf?: { result?: string; domain?: string | null };
		dkim?: { signatures?: Array<{ result?: string; aligned?: boolean }> };
		dmarc?: { result?: string };
	} | null;
	/** The sender's address, compared with our own from-address to catch our mail coming back. */
	from?: string | null;
}

/**
 * Why the address an automatic message would answer is not proven to have sent the mail, or null when it is: the
 * intake trusted the original sender, or that sender is the From header and DMARC passes, or a DKIM signature
 * aligned with it passes, or SPF passes for its very domain. Anyone can write any From: answering an unproven one
 * sends our DKIM-signed mail to a stranger's victim (backscatter).
 */
function unauthenticated(msg: AnsweredMessage): string | null {
	const original = msg.originalSender;
	if (!original?.address) return 'it names no sender to answer';
	if (original.trusted) return null;
	const auth = msg.auth;
	if (original.method === 'from-header' && auth) {
		if (auth.dmarc?.result === 'pass') return null;
		if (auth.dkim?.signatures?.some((s) => s.result === 'pass' && s.aligned)) return null;
		if (auth.spf?.result === 'pass' && auth.spf.domain?.toLowerCase() === domainOf(original.address)) return null;
	}
	return `its sender ${original.address} is not authenticated (no DMARC pass, no passing DKIM or SPF aligned with its domain, not a trusted original sender)`;
}

/**
 * Why an automatic message must not answer this mail (RFC 3834 section 2, and no backscatter), or null when it
 * may. A manual reply by an agent never asks this: it is always allowed.
 */
export function automaticReplyRefusal(msg: AnsweredMessage, ownAddresses: string[] = []): string | null {
	if (msg.kind === 'auto-reply') return 'it is an automatic reply (out of office, vacation or another auto-responder)';
	if (msg.kind === 'bounce') return 'it is a bounce (a delivery status notification)';
	if (msg.kind !== 'message') return `it is a ${msg.kind}, not a message from a contact`;
	if (msg.action !== 'accept') return msg.action ? `the intake did not accept it (${msg.action})` : 'it carries no intake verdict';
	if (msg.mailFrom !== null && /^<?>?$/.test(msg.mailFrom.trim())) return 'its envelope sender is empty (<>), as bounces have';
	if (msg.originalSender?.method === 'list-rewrite') return 'it came through a mailing list or group (list mail)';
	const automated = msg.flags.find((flag) => NOT_ANSWERED[flag]);
	if (automated) return NOT_ANSWERED[automated]!;
	const from = msg.from?.trim().toLowerCase();
	if (from && ownAddresses.some((a) => a.toLowerCase() === from)) return `it was sent from our own address ${from}`;
	const unproven = unauthenticated(msg);
	if (unproven) return unproven;
	return msg.flags.length ? `it is flagged ${msg.flags.map((f) => `"${f}"`).join(', ')}` : null;
}

function answeredMessage(item: AnswerableItem): AnsweredMessage | null {
	if (item.kind === undefined) return null;
	// A flag this version does not know still refuses: it is kept, typed as the nearest known fact.
	const flags: Flag[] = [
		...item.verdict.flags.map((flag) => String(flag) as Flag),
		...(item.contact.flagged ? (['untrusted-sender'] as const) : []),
		...(item.conversation.threadRefused ? (['thread-refused'] as const) : []),
	];
	return {
		kind: item.kind,
		action: item.verdict.action,
		mailFrom: item.envelope.mailFrom,
		flags,
		originalSender: item.originalSender,
		auth: Object.keys(item.auth).length ? (item.auth as AnsweredMessage['auth']) : null,
		from: item.email.from?.address ?? null,
	};
}

/** What an automatic message answers, read from any item through the item schema: null when it is not a trigger item. */
export const answeredMessageSchema = answerableItemSchema.transform(answeredMessage);

/** answeredMessageSchema applied to an item's JSON (after Resolve Original Sender, its flagged contact and refused thread count). */
export function answeredMessageOf(json: unknown): AnsweredMessage | null {
	return answeredMessageSchema.parse(json);
}

/** Headers every automatic message carries, so other auto-responders (Exchange included) stay quiet. */
export const AUTOMATIC_MESSAGE_HEADERS: Record<string, string> = {
	'Auto-Submitted': 'auto-replied',
	'X-Auto-Response-Suppress': 'All',
	Precedence: 'auto_reply',
};
