import { createHash, randomUUID } from 'node:crypto';

/** Message-IDs are stored without angle brackets or surrounding space, as the headers' ids are compared. */
export function normalizeMessageId(value: string): string {
	return value.trim().replace(/^<+/, '').replace(/>+$/, '').trim();
}

/** Domain of the ids the store derives for messages that came without one. */
export const CONTENT_ID_DOMAIN = 'content.hosted-inbox.invalid';

/**
 * A stable Message-ID for a message that has none, from what a replay carries unchanged (sender, recipients,
 * subject, bodies), so a replayed copy is recognised as the same message. The receipt time is left out: a
 * re-fetch or re-delivery would change it.
 */
export function contentMessageId(input: { from: string; to: string[]; cc: string[]; subject: string; text: string; html: string | null }): string {
	const hash = createHash('sha256');
	for (const part of [input.from, input.to.join(','), input.cc.join(','), input.subject, input.text, input.html ?? '']) {
		hash.update(part);
		hash.update('\u0000');
	}
	return `${hash.digest('hex').slice(0, 40)}@${CONTENT_ID_DOMAIN}`;
}

/** Prefix of the Message-IDs our outbound mail carries, so mail that comes back is recognised as ours. */
export const OUTBOUND_ID_PREFIX = 'hosted-inbox.';

/** A new Message-ID (without brackets) for a message we send from `domain`. */
export function newOutboundMessageId(domain: string): string {
	return `${OUTBOUND_ID_PREFIX}${randomUUID()}@${domain.toLowerCase()}`;
}

export function isOwnMessageId(messageId: string): boolean {
	return normalizeMessageId(messageId).startsWith(OUTBOUND_ID_PREFIX);
}
