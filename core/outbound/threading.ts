import type { StoredMessage } from '../store/types';

export interface ThreadHeaders {
	inReplyTo: string[];
	references: string[];
}

// Long threads: keep the first (the thread root) and the most recent ids, as RFC 5322 suggests trimming.
const MAX_REFERENCES = 20;

/** In-Reply-To and References for a reply to the conversation's last inbound message (bare ids). */
export function replyThreadHeaders(messages: StoredMessage[]): ThreadHeaders {
	const lastInbound = [...messages].reverse().find((m) => m.direction === 'in');
	if (!lastInbound) return { inReplyTo: [], references: [] };
	// Stored ids are normalised already (core/store/message-id).
	const parent = lastInbound.messageId;
	const chain = [...new Set([...lastInbound.references, parent])];
	const references = chain.length > MAX_REFERENCES ? [chain[0], ...chain.slice(chain.length - MAX_REFERENCES + 1)] : chain;
	return { inReplyTo: [parent], references };
}

export function angle(ids: string[]): string {
	return ids.map((id) => `<${id}>`).join(' ');
}
