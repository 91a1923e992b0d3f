import { type Inbox, type TriggerHeartbeat } from '../store/types';
import { InvalidInputError } from '../errors';
import type { InboxStore } from '../store/roles';

/**
 * running: its heartbeat is fresh (within two intervals); stopped: it was deactivated cleanly; silent: its
 * heartbeat went stale without a stop (the process died); never-started: no trigger ever ran for the inbox.
 */
export type TriggerStatus = 'running' | 'stopped' | 'silent' | 'never-started';

export interface InboxHealth {
	inbox: { id: string; address: string };
	trigger: { status: TriggerStatus; via: TriggerHeartbeat['via'] | null; startedAt: string | null; lastBeatAt: string | null; stoppedAt: string | null };
	/** The latest message the inbox received, whatever became of it (spooled, refused, quarantined, recorded). */
	lastReceivedAt: string | null;
	secondsSinceLastReceived: number | null;
	/** Messages waiting for a successful execution, and how long the oldest has waited. */
	backlog: { count: number; oldestReceivedAt: string | null; oldestAgeSeconds: number | null };
	/** Given up after their last failed execution: re-drive them (Failed Message > Re-drive, or the CLI). */
	failed: number;
	quarantined: number;
	lastError: { message: string; at: string } | null;
	checkedAt: string;
}

export function triggerStatus(heartbeat: TriggerHeartbeat | null, at: Date): TriggerStatus {
	if (!heartbeat) return 'never-started';
	if (heartbeat.state === 'stopped') return 'stopped';
	return at.getTime() - Date.parse(heartbeat.beatAt) <= 2 * heartbeat.intervalMs ? 'running' : 'silent';
}

const secondsSince = (iso: string | null, at: Date) => (iso === null ? null : Math.max(0, Math.floor((at.getTime() - Date.parse(iso)) / 1000)));


/** Per inbox (or the one named by its address): whether its trigger runs, what it received last, what waits or failed. */
export async function inboxHealth(store: InboxStore, options: { inbox?: string; at?: Date } = {}): Promise<InboxHealth[]> {
	const at = options.at ?? new Date();
	let inboxes: Inbox[];
	if (options.inbox) {
		const inbox = await store.getInbox(options.inbox);
		if (!inbox) throw new InvalidInputError(`Unknown inbox: ${options.inbox}`);
		inboxes = [inbox];
	} else inboxes = await store.listInboxes();
	return await Promise.all(
		inboxes.map(async (inbox): Promise<InboxHealth> => {
			const facts = await store.inboxHealthFacts(inbox.id);
			const beat = facts.heartbeat;
			return {
				inbox: { id: inbox.id, address: inbox.address },
				trigger: { status: triggerStatus(beat, at), via: beat?.via ?? null, startedAt: beat?.startedAt ?? null, lastBeatAt: beat?.beatAt ?? null, stoppedAt: beat?.stoppedAt ?? null },
				lastReceivedAt: facts.lastReceivedAt,
				secondsSinceLastReceived: secondsSince(facts.lastReceivedAt, at),
				backlog: { ...facts.backlog, oldestAgeSeconds: secondsSince(facts.backlog.oldestReceivedAt, at) },
				failed: facts.failed,
				quarantined: facts.quarantined,
				lastError: beat?.lastError ?? null,
				checkedAt: at.toISOString(),
			};
		}),
	);
}
