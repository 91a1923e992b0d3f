import { InvalidInputError } from '../errors';
import { authorOf, headerSectionLength } from '../intake/headers';
import { parseHeaderSection } from '../intake/stages/parse';
import { lazyBytes, readHead, type MessageBytes } from '../message-bytes';
import { SPOOL_HEAD_BYTES, type SpoolEntry, type SpoolHead } from '../store/types';
import type { SpoolStore } from '../store/roles';

/** From and Subject of a spooled message, read from its header section only (mailparser): bounded work however large the message. */
export async function headerSummary(head: Buffer): Promise<{ from: string | null; subject: string | null }> {
	const parsed = await parseHeaderSection(head, headerSectionLength(head)).catch(() => null);
	return { from: (parsed && authorOf(parsed).author?.address) ?? null, subject: parsed?.subject ?? null };
}

/** A spooled message as an operator sees it: who wrote it, about what, and where it stands in delivery. */
export interface SpooledMessage {
	id: string;
	inboxId: string;
	status: SpoolEntry['status'];
	from: string | null;
	subject: string | null;
	receivedAt: string;
	/** Failed executions since it was received (or last re-driven). */
	attempts: number;
	nextAttemptAt: string;
	/** Why its last execution failed; kept after a re-drive until it succeeds. */
	lastError: string | null;
}

/** A spooled message's bytes, streamed from the store on each open(); an InvalidInputError once the entry is gone. */
export async function spooledMessage(store: SpoolStore, id: string): Promise<MessageBytes> {
	const message = await store.spoolMessage(id);
	if (!message) throw new InvalidInputError(`No spool entry with id ${id} (unknown, or deleted by retention or erasure)`);
	return message;
}

/**
 * A spooled entry's bytes at hand without a query: located in the store on each read, a chunk at a time (the
 * trigger's emission reads its attachments and raw message from here).
 */
export function spooledBytes(store: SpoolStore, entry: SpoolEntry): MessageBytes {
	return lazyBytes(entry.size, async () => await spooledMessage(store, entry.id));
}

/** The start of a spooled message, as a list shows it (`head`). */
export async function spooledHead(store: SpoolStore, id: string): Promise<Buffer> {
	return await readHead(await spooledMessage(store, id), SPOOL_HEAD_BYTES);
}

async function summaryOf(entry: SpoolEntry, head: Buffer): Promise<SpooledMessage> {
	const { id, inboxId, status, receivedAt, attempts, nextAttemptAt, lastError } = entry;
	return { id, inboxId, status, ...(await headerSummary(head)), receivedAt, attempts, nextAttemptAt, lastError };
}


/** Spooled messages, newest first (default: all but those done); only the start of each message is read. */
export async function listSpool(
	store: SpoolStore,
	filter: { inboxId?: string; statuses?: Array<SpoolEntry['status']>; limit?: number } = {},
): Promise<SpooledMessage[]> {
	const heads: SpoolHead[] = await store.spoolHeads(filter);
	return await Promise.all(heads.map(async ({ head, ...entry }) => await summaryOf(entry, head)));
}

/**
 * A message given up after its last failed execution goes round again: pending, due now, its attempts counted
 * from zero. The running trigger of its inbox emits it at its next spool sweep (within seconds); any process can
 * ask, through the store. It keeps the decision it was answered with, unless `recheck` asks for the checks to run
 * again (DNS included) and decide anew.
 */
export async function redriveFailed(store: SpoolStore, id: string, options: { recheck?: boolean } = {}): Promise<SpooledMessage> {
	const entry = await store.spoolRedrive(id, undefined, options.recheck === true);
	return await summaryOf(entry, await spooledHead(store, id));
}
