import type { ParsedMail } from 'mailparser';

import { bodyHash, normalizeMessageId } from '../../store/message-id';
import { headerTexts } from '../headers';
import { pieces, readFrom } from '../../message-bytes';
import type { IntakeStage } from '../state';

/** A References header longer than this keeps its first and last ids (the root and the recent replies). */
const MAX_REFERENCES = 100;

/** All ids of a header: bracketed ones, else whitespace-separated bare ones. */
export function messageIdList(values: string[]): string[] {
	const ids = new Set<string>();
	for (const value of values) {
		const bracketed = value.match(/<[^<>]+>/g);
		for (const token of bracketed ?? value.split(/[\s,]+/)) {
			const id = normalizeMessageId(token);
			if (id) ids.add(id);
		}
	}
	return [...ids];
}

function trim(ids: string[]): string[] {
	return ids.length > MAX_REFERENCES ? [...ids.slice(0, 1), ...ids.slice(ids.length - (MAX_REFERENCES - 1))] : ids;
}

export function threadKeysOf(parsed: ParsedMail | null) {
	return {
		messageId: messageIdList(headerTexts(parsed, 'message-id'))[0] ?? null,
		inReplyTo: trim(messageIdList(headerTexts(parsed, 'in-reply-to'))),
		references: trim(messageIdList(headerTexts(parsed, 'references'))),
	};
}

/** Thread keys: Message-ID, In-Reply-To and References, normalised, for the store to thread on; the body hash tells a redelivery from another message reusing the Message-ID. */
export const threadKeysStage: IntakeStage = {
	name: 'thread-keys',
	async run(state) {
		state.thread = { ...threadKeysOf(state.parsed), contentHash: await bodyHash(pieces(readFrom(state.message, state.headerBytes))) };
	},
};
