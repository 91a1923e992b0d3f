import type { StoredMessage } from '../store/types';

export interface ThreadHeaders {
	inReplyTo: string[];
	references: string[];
}

// Long threads: keep the first (the thread root) and the most recent ids, as RFC 5322 suggests trimming.
const MAX_REFERENCES = 20;
/** An id a header line can carry as it is: printable ASCII, no brackets, of a length real ids have. */
const SENDABLE_ID = /^[\x21-\x3b\x3d\x3f-\x7e]{1,250}$/;
/** A team member's manual forward: its ids are the team's own mail, which the customer never had. */
const MANUAL_FORWARDS = new Set(['inline-forward', 'attached-message']);

/**
 * In-Reply-To and References for a reply to the conversation's last message from outside (bare ids): not a team
 * member's forward of it, whose ids are internal mail the customer never saw (nor could thread on). An id the
 * customer's client wrote in 8-bit or at a length no line holds is left out rather than sent.
 */
export function replyThreadHeaders(messages: StoredMessage[]): ThreadHeaders {
	// Stored ids are normalised already (core/store/message-id).
	const parentMessage = [...messages].reverse().find((m) => m.direction === 'in' && !MANUAL_FORWARDS.has(m.originalSenderMethod ?? '') && SENDABLE_ID.test(m.messageId));
	if (!parentMessage) return { inReplyTo: [], references: [] };
	const parent = parentMessage.messageId;
	const chain = [...new Set([...parentMessage.references.filter((id) => SENDABLE_ID.test(id)), parent])];
	const references = chain.length > MAX_REFERENCES ? [chain[0], ...chain.slice(chain.length - MAX_REFERENCES + 1)] : chain;
	return { inReplyTo: [parent], references };
}

export function angle(ids: string[]): string {
	return ids.map((id) => `<${id}>`).join(' ');
}
