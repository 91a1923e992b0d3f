import { authorOf, headerSectionLength } from '../intake/headers';
import { parseHeaderSection } from '../intake/stages/parse';
import type { SpoolEntry, SpoolHead } from '../store/types';
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

async function summaryOf(entry: Omit<SpoolEntry, 'raw'>, head: Buffer): Promise<SpooledMessage> {
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
	return await summaryOf(entry, entry.raw);
}
