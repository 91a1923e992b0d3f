import { LOOP_HEADER } from './threading';

/**
 * What an automatic message (an acknowledgement, say) needs to know about the mail it answers.
 * The fields come from the intake item (kind, verdict flags, envelope, original sender) and,
 * when the caller has them, the raw headers.
 */
export interface AnsweredMessage {
	kind: string;
	/** Envelope sender; an empty one (`<>`) is a bounce. null when unknown (IMAP). */
	mailFrom: string | null;
	flags: string[];
	originalSenderMethod: string | null;
	/** Lower-cased header names; values as strings. */
	headers?: Record<string, string | string[] | undefined>;
	/** The sender's address, compared with our own from-address to catch our mail coming back. */
	from?: string | null;
}

const SUPPRESSING_FLAGS = new Set(['auto-reply', 'auto-submitted', 'bounce', 'bulk', 'list', 'precedence-bulk', 'loop', 'own-mail']);

function header(msg: AnsweredMessage, name: string): string | undefined {
	const value = msg.headers?.[name];
	return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Why an automatic message must not answer this mail (RFC 3834 section 2), or null when it may.
 * A manual reply by an agent never asks this: it is always allowed.
 */
export function automaticReplyRefusal(msg: AnsweredMessage, ownAddresses: string[] = []): string | null {
	if (msg.kind === 'auto-reply') return 'it is an automatic reply (out of office, vacation or another auto-responder)';
	if (msg.kind === 'bounce') return 'it is a bounce (a delivery status notification)';
	if (msg.kind !== 'message') return `it is a ${msg.kind}, not a message from a contact`;
	if (msg.mailFrom !== null && /^<?>?$/.test(msg.mailFrom.trim())) return 'its envelope sender is empty (<>), as bounces have';
	const flag = msg.flags.find((f) => SUPPRESSING_FLAGS.has(f));
	if (flag) return `the intake flagged it "${flag}"`;
	if (msg.originalSenderMethod === 'list-rewrite') return 'it came through a mailing list or group (list mail)';
	const autoSubmitted = header(msg, 'auto-submitted');
	if (autoSubmitted && autoSubmitted.trim().toLowerCase() !== 'no') return `it is marked Auto-Submitted: ${autoSubmitted.trim()}`;
	const precedence = header(msg, 'precedence')?.trim().toLowerCase();
	if (precedence && ['bulk', 'list', 'junk', 'auto_reply'].includes(precedence)) return `it is marked Precedence: ${precedence}`;
	if (header(msg, 'list-id') || header(msg, 'list-unsubscribe')) return 'it is list or bulk mail (List-Id / List-Unsubscribe)';
	if (header(msg, LOOP_HEADER.toLowerCase())) return 'it is our own mail coming back (loop marker)';
	const from = msg.from?.trim().toLowerCase();
	if (from && ownAddresses.some((a) => a.toLowerCase() === from)) return `it was sent from our own address ${from}`;
	return null;
}

/** Headers every automatic message carries, so other auto-responders (Exchange included) stay quiet. */
export const AUTOMATIC_MESSAGE_HEADERS: Record<string, string> = {
	'Auto-Submitted': 'auto-replied',
	'X-Auto-Response-Suppress': 'All',
	Precedence: 'auto_reply',
};
