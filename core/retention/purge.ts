import { DEFAULT_RETENTION } from '../inbox';
import type { InboxRetention, PurgeCounts, PurgeCutoffs } from '../store/types';
import type { InboxStore, RetentionStore } from '../store/roles';

const DAY_MS = 24 * 60 * 60_000;

/** The cutoffs `days` before `now` (0 days keeps that kind for ever), and the replay claims expired by `now`. */
export function cutoffsFor(retention: InboxRetention, now: Date): PurgeCutoffs {
	const before = (days: number) => (days > 0 ? new Date(now.getTime() - days * DAY_MS).toISOString() : null);
	return {
		deliveredBefore: before(retention.deliveredRawDays),
		quarantinedBefore: before(retention.quarantineDays),
		intakeLogBefore: before(retention.intakeLogDays),
		replaysExpiredBy: now.toISOString(),
	};
}

export type PurgeStore = RetentionStore & InboxStore;

/** One inbox, with the settings it runs with (the trigger's). */
export async function purgeInbox(store: PurgeStore, inboxId: string, retention: InboxRetention, now = new Date()): Promise<PurgeCounts> {
	return await store.purgeExpired(inboxId, cutoffsFor(retention, now));
}

export interface InboxPurge extends PurgeCounts {
	/** The inbox's address; null for intake log entries that belong to no inbox (purged with the default). */
	inbox: string | null;
	retention: InboxRetention;
}

/** Every inbox with the retention its trigger recorded (the defaults for one that never ran a trigger). */
export async function purgeAll(store: PurgeStore, now = new Date()): Promise<InboxPurge[]> {
	const done: InboxPurge[] = [];
	for (const inbox of await store.listInboxes()) {
		const retention = inbox.retention ?? DEFAULT_RETENTION;
		done.push({ inbox: inbox.address, retention, ...(await purgeInbox(store, inbox.id, retention, now)) });
	}
	done.push({ inbox: null, retention: DEFAULT_RETENTION, ...(await store.purgeExpired(null, cutoffsFor(DEFAULT_RETENTION, now))) });
	return done;
}

/**
 * The trigger's purge: once now, then every day while it runs. The timer is unref'd (it never keeps a process
 * alive); stop() clears it and waits for a purge under way, so the store is not closed beneath it.
 */
export function schedulePurge(purge: () => Promise<unknown>, onError: (error: Error) => void, intervalMs = DAY_MS): { stop(): Promise<void> } {
	let running: Promise<void> = Promise.resolve();
	const run = () => {
		running = running.then(purge).then(
			() => undefined,
			(error: unknown) => onError(error instanceof Error ? error : new Error(String(error))),
		);
	};
	run();
	const timer = setInterval(run, intervalMs);
	timer.unref();
	return {
		async stop() {
			clearInterval(timer);
			await running;
		},
	};
}
