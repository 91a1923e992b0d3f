/**
 * Reading the mailbox: which messages are there, their size and envelope first (a message over the limit is never
 * downloaded), then their bytes: small ones in one FETCH per batch, large ones streamed one by one.
 */
import type { FetchMessageObject, ImapFlow, SearchObject } from 'imapflow';

import { noteBytesRead } from '../garbage';
import { createImapClient, type MailboxConnection } from './connection';

/** Keyword set on a message whose processing kept failing (remove it to have the message tried again). */
export const FAILED_KEYWORD = '$HostedInboxFailed';
/** Keyword set on a message over the inbox's size limit (never downloaded). */
export const TOO_LARGE_KEYWORD = '$HostedInboxTooLarge';

/** One message handed over for processing. */
export interface MailboxMessage {
	mailbox: string;
	uidValidity: string;
	uid: number;
	raw: Buffer;
	size: number;
	messageId: string | null;
	/** The first address of its From, as the server reads it. */
	from: string | null;
	internalDate: string | null;
	/** 1 on the first try, 2 on the first retry ... */
	attempt: number;
}

/** What is known of a message before it is downloaded. */
export type MessageHead = FetchMessageObject;

/** The UIDs at `from` and above, less those flagged as given up or too large. */
export async function searchFrom(client: ImapFlow, from: number): Promise<number[]> {
	const query: SearchObject = { uid: `${from}:*`, unKeyword: FAILED_KEYWORD, not: { keyword: TOO_LARGE_KEYWORD } };
	// "n:*" always names the last message even below n: filter again.
	return ((await client.search(query, { uid: true })) || []).filter((uid) => uid >= from);
}

/** Size, envelope and internal date of these messages, nothing of their content. */
export async function fetchHeads(client: ImapFlow, uids: number[]): Promise<MessageHead[]> {
	return await client.fetchAll(uids, { uid: true, size: true, envelope: true, internalDate: true }, { uid: true });
}

/** The bytes of these messages (their size checked): UID -> raw; a message expunged meanwhile is missing. */
export async function fetchSources(client: ImapFlow, heads: MessageHead[], limit: number, streamAboveBytes: number): Promise<Map<number, Buffer>> {
	const small = heads.filter((head) => (head.size ?? 0) <= streamAboveBytes).map((head) => head.uid);
	const sources = new Map<number, Buffer>();
	if (small.length) {
		for (const message of await client.fetchAll(small, { uid: true, source: true }, { uid: true })) {
			if (!message.source) continue;
			noteBytesRead(message.source.length);
			sources.set(message.uid, message.source);
		}
	}
	for (const head of heads) {
		if ((head.size ?? 0) <= streamAboveBytes) continue;
		const raw = await download(client, head.uid, limit);
		if (raw) sources.set(head.uid, raw);
	}
	return sources;
}

/** Consecutive batches of at most `maxBytes` (by the sizes the server reported); a larger message is a batch alone. */
export function batchesBySize(heads: MessageHead[], maxBytes: number): MessageHead[][] {
	const batches: MessageHead[][] = [];
	let bytes = 0;
	for (const head of heads) {
		const size = head.size ?? 0;
		const last = batches[batches.length - 1];
		if (last && bytes + size <= maxBytes) {
			last.push(head);
			bytes += size;
		} else {
			batches.push([head]);
			bytes = size;
		}
	}
	return batches;
}

/** The message as handed over. */
export function mailboxMessage(head: MessageHead, raw: Buffer, where: { mailbox: string; uidValidity: string; attempt: number }): MailboxMessage {
	return {
		mailbox: where.mailbox,
		uidValidity: where.uidValidity,
		uid: head.uid,
		raw,
		size: raw.length,
		messageId: head.envelope?.messageId ?? null,
		from: head.envelope?.from?.[0]?.address ?? null,
		internalDate: head.internalDate ? new Date(head.internalDate).toISOString() : null,
		attempt: where.attempt,
	};
}

/**
 * The newest message of the mailbox, read-only (nothing flagged, no checkpoint): what a manual test run shows.
 * Null when the mailbox is empty; a message over the limit is not downloaded (its size is reported instead).
 */
export async function peekLatestMessage(connection: MailboxConnection, mailbox: string, maxMessageBytes: number): Promise<MailboxMessage | { tooLarge: number } | null> {
	const client = createImapClient(connection, { disableAutoIdle: true });
	try {
		await client.connect();
		const opened = await client.mailboxOpen(mailbox, { readOnly: true });
		if (!opened.exists) return null;
		const head = await client.fetchOne('*', { uid: true, size: true, envelope: true, internalDate: true });
		if (!head) return null;
		if ((head.size ?? 0) > maxMessageBytes) return { tooLarge: head.size ?? 0 };
		const raw = await download(client, head.uid, maxMessageBytes);
		if (!raw) return null;
		return mailboxMessage(head, raw, { mailbox, uidValidity: String(opened.uidValidity), attempt: 1 });
	} finally {
		await client.logout().catch(() => client.close());
	}
}

/** Streams one message in (the size was checked; maxBytes guards a message that grew meanwhile). */
async function download(client: ImapFlow, uid: number, limit: number): Promise<Buffer | null> {
	const { content } = await client.download(String(uid), undefined, { uid: true, maxBytes: limit + 1 });
	if (!content) return null;
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of content as AsyncIterable<Buffer>) {
		size += chunk.length;
		noteBytesRead(chunk.length);
		chunks.push(chunk);
	}
	return Buffer.concat(chunks, size);
}
