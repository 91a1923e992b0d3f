import type { Flag } from '../flags';
import type { IntakeDecision } from '../intake/types';
import { headerSummary, spooledHead } from '../spool/spool';
import { type SpoolEntry } from '../store/types';
import { InvalidInputError } from '../errors';
import type { QuarantineStore, SpoolStore } from '../store/roles';

/** A quarantined message as a reviewer sees it: who wrote it, about what, when, and why it is held. */
export interface QuarantinedMessage {
	id: string;
	inboxId: string;
	from: string | null;
	subject: string | null;
	receivedAt: string;
	reasons: string[];
	flags: Flag[];
	/** The full decision it was held with (verdict, original sender, authentication). */
	decision: IntakeDecision | null;
}

async function summaryOf(entry: SpoolEntry, head: Buffer): Promise<QuarantinedMessage> {
	return {
		id: entry.id,
		inboxId: entry.inboxId,
		...(await headerSummary(head)),
		receivedAt: entry.receivedAt,
		reasons: entry.decision?.verdict.reasons ?? [],
		flags: entry.decision?.verdict.flags ?? [],
		decision: entry.decision,
	};
}


/** Held messages, newest first. */
export async function listQuarantine(store: QuarantineStore & SpoolStore, filter: { inboxId?: string; limit?: number } = {}): Promise<QuarantinedMessage[]> {
	const held = await store.listQuarantined(filter);
	return await Promise.all(held.map(async ({ head, ...entry }) => await summaryOf(entry, head)));
}

export async function getQuarantined(store: QuarantineStore & SpoolStore, id: string): Promise<QuarantinedMessage> {
	const entry = await store.spoolGet(id);
	if (!entry || entry.status !== 'quarantined') throw new InvalidInputError(`No quarantined message with id ${id} (unknown, already released or deleted)`);
	return await summaryOf(entry, await spooledHead(store, id));
}

/**
 * Releases a held message: the running trigger of its inbox emits it once from Message (within seconds), noting
 * who released it. Works from any process, through the store.
 */
export async function releaseQuarantined(store: QuarantineStore & SpoolStore, id: string, by: string): Promise<QuarantinedMessage & { released: { by: string; at: string } }> {
	const entry = await store.releaseQuarantined(id, by);
	return { ...(await summaryOf(entry, await spooledHead(store, id))), released: entry.released! };
}

export async function deleteQuarantined(store: QuarantineStore & SpoolStore, id: string): Promise<{ id: string; deleted: true }> {
	await store.deleteQuarantined(id);
	return { id, deleted: true };
}
