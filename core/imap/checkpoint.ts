/**
 * The mailbox's checkpoint in the store, UIDVALIDITY + the set of UIDs done (not a high-water mark: a low-water mark
 * under which every UID is done, and the done UIDs above it) + the failed attempts, and the ledger that mirrors it: loaded at each session, where the first start and a UIDVALIDITY change decide what is out of scope; written as
 * messages are done or fail. Store trouble with the attempts is swallowed: it loses a count only across a restart.
 */
import type { SearchObject } from 'imapflow';

import type { MailboxCheckpointStore } from '../store/roles';
import type { MailboxSession } from './connection';
import type { UidLedger } from './uid-ledger';

/** Which messages already in the mailbox the first start takes in: none (default), the unread ones, or all since a day. */
export type InitialSync = { mode: 'new' } | { mode: 'unread' } | { mode: 'since'; since: Date };

export interface CheckpointOptions {
	store: MailboxCheckpointStore;
	mailboxKey: string;
	ledger: UidLedger;
	initialSync: InitialSync;
	/** Processed mail is marked read and stays (not moved, not deleted): read mail was done under the old numbering. */
	readMeansDone: boolean;
	onResync(previousUidValidity: string, uidValidity: string): void;
}

export class Checkpoint {
	constructor(private readonly o: CheckpointOptions) {}

	/**
	 * Loads the checkpoint of the session's mailbox into the ledger; on the first start or a UIDVALIDITY change
	 * decides which messages are out of scope. Answers the UIDs to check against the store's record before they
	 * are processed (after a UIDVALIDITY change).
	 */
	async load(session: MailboxSession): Promise<Set<number>> {
		const { store, mailboxKey, ledger } = this.o;
		const { client, uidValidity, uidNext } = session;
		const checkpoint = await store.getMailboxCheckpoint(mailboxKey);
		if (checkpoint && checkpoint.uidValidity === uidValidity) {
			ledger.resume(checkpoint);
			return new Set();
		}
		let outOfScope: number[];
		// Every UID below UIDNEXT that is out of scope, gaps included (a gap is a message gone for good).
		let outOfScopeThrough = 0;
		let toCheck = new Set<number>();
		if (!checkpoint) {
			const sync = this.o.initialSync;
			const query: SearchObject = sync.mode === 'new' ? { all: true } : sync.mode === 'unread' ? { seen: true } : { before: sync.since };
			outOfScope = (await client.search(query, { uid: true })) || [];
			if (sync.mode === 'new' && uidNext) outOfScopeThrough = uidNext - 1;
		} else {
			this.o.onResync(checkpoint.uidValidity, uidValidity);
			// Marked-read messages were done under the old numbering; moved or deleted ones are gone.
			// Everything else is checked against the store's record (same Message-ID, From and body) before it is processed.
			outOfScope = this.o.readMeansDone ? (await client.search({ seen: true }, { uid: true })) || [] : [];
			const all = (await client.search({ all: true }, { uid: true })) || [];
			const excluded = new Set(outOfScope);
			toCheck = new Set(all.filter((uid) => !excluded.has(uid)));
		}
		// Written even when empty: the checkpoint's existence is what says "first start is over".
		await store.markUidsDone(mailboxKey, uidValidity, outOfScope, outOfScopeThrough);
		ledger.begin(uidValidity, outOfScopeThrough, outOfScope);
		return toCheck;
	}

	/** Writes the done UIDs the ledger owes to the store; false when it is unreachable (kept, tried again at the next look). */
	async writeOwedDone(): Promise<boolean> {
		const owed = this.o.ledger.doneOwed();
		if (!owed) return true;
		try {
			await this.o.store.markUidsDone(this.o.mailboxKey, owed.uidValidity, owed.uids);
		} catch {
			return false;
		}
		this.o.ledger.recorded(owed.uidValidity, owed.uids);
		return true;
	}

	/**
	 * Kept until the message is done or flagged: a restart meanwhile counts on from here. An unreachable store loses
	 * only this count, and only across a restart: the ledger keeps counting in memory.
	 */
	async countAttempts(uidValidity: string, uid: number, attempts: number): Promise<void> {
		await this.o.store.setMailboxAttempts(this.o.mailboxKey, uidValidity, uid, attempts).catch(() => undefined);
	}

	/** Flagged (a retry someone asks for by removing the keyword starts again at 1), gone or done: the count is over. */
	async forgetAttempts(uidValidity: string, uids: number[]): Promise<void> {
		await this.o.store.clearMailboxAttempts(this.o.mailboxKey, uidValidity, uids).catch(() => undefined);
	}
}
