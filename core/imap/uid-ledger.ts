/**
 * What the poller knows and owes about each message of one mailbox, in memory and without I/O (the poller does the
 * talking to the store and the server): the done set, which mirrors the store's checkpoint (a low-water mark under
 * which every UID is done, and the done UIDs above it); the messages being processed; the retries with their attempts;
 * and what is owed: done UIDs not yet in the store, after-processing actions not yet applied, keywords not yet set.
 *
 * Kept for one UIDVALIDITY at a time: under another, the same numbers name other messages, so a change of numbering
 * closes the books of the old one. Only the messages being processed are known under any numbering, since their
 * outcome arrives whenever it does. Calls naming a numbering that is no longer open change nothing.
 */
import { afterFailure, isGivenUp, type AfterFailure, type RetryPolicy } from '../workflow-delivery/retry';
import type { MailboxCheckpoint } from '../store/types';

/** Why a message is flagged and left in the mailbox: its processing kept failing, or it is over the size limit. */
export type FlagReason = 'given-up' | 'too-large';

interface Retry {
	attempts: number;
	dueAt: number;
}

export class UidLedger {
	private open: string | null = null;
	/** Every UID at or below this is done. */
	private doneThrough = 0;
	/** The done UIDs above doneThrough. */
	private readonly doneUids = new Set<number>();
	/** `${uidValidity}:${uid}` -> Message-ID, under any numbering. */
	private readonly inFlight = new Map<string, string | null>();
	private readonly retries = new Map<number, Retry>();
	/** Succeeded but not yet recorded in the store (it was unreachable): never processed twice meanwhile. */
	private readonly owedDone = new Set<number>();
	/** After-processing actions owed because the connection was lost before they were applied. */
	private readonly owedActions = new Set<number>();
	private readonly owedFlags = new Map<number, FlagReason>();
	private readonly reportedTooLarge = new Set<number>();

	constructor(private readonly retry: RetryPolicy) {}

	/** The numbering the books are kept for (null until the first checkpoint). */
	get uidValidity(): string | null {
		return this.open;
	}

	/**
	 * The stored checkpoint of the mailbox's numbering (a start or a reconnect): its done set, and the attempts counted
	 * before a restart, retried at once, one by one, counting on; those used up are owed their keyword.
	 */
	resume(checkpoint: Pick<MailboxCheckpoint, 'uidValidity' | 'doneThrough' | 'doneUids' | 'attempts'>): void {
		const { uidValidity } = checkpoint;
		this.openNumbering(uidValidity);
		this.doneThrough = checkpoint.doneThrough;
		this.doneUids.clear();
		for (const uid of checkpoint.doneUids) this.doneUids.add(uid);
		for (const { uid, attempts } of checkpoint.attempts) {
			// This process's own count (a reconnect, not a restart) is the same or newer, and knows the backoff.
			if (this.retries.has(uid) || this.inFlight.has(key(uidValidity, uid)) || this.owedDone.has(uid)) continue;
			if (isGivenUp(attempts, this.retry)) this.owedFlags.set(uid, 'given-up');
			else this.retries.set(uid, { attempts, dueAt: 0 });
		}
	}

	/** A numbering without a checkpoint (the first start, or UIDVALIDITY changed): what is out of scope counts as done. */
	begin(uidValidity: string, outOfScopeThrough: number, outOfScope: number[]): void {
		this.openNumbering(uidValidity);
		this.doneThrough = outOfScopeThrough;
		this.doneUids.clear();
		this.addDone(outOfScope);
	}

	isDone(uid: number): boolean {
		return uid <= this.doneThrough || this.doneUids.has(uid);
	}

	/**
	 * One look at the UIDs present at `from` and above (ascending). `candidates`: to hand over now (not done, not being
	 * processed, nothing owed for them, no retry waiting). `low`: where the next look may start, the lowest UID not done
	 * (new mail always gets higher UIDs). `overRetries`: retries of messages gone or done meanwhile, forgotten here (their
	 * due time would keep waking the poller) and to be forgotten in the store.
	 */
	select(uidValidity: string, present: number[], from: number, now: number): { candidates: number[]; low: number; overRetries: number[] } {
		if (uidValidity !== this.open) return { candidates: [], low: from, overRetries: [] };
		const candidates: number[] = [];
		let lowest = Infinity;
		for (const uid of present) {
			if (this.isDone(uid)) continue;
			lowest = Math.min(lowest, uid);
			if (this.inFlight.has(key(uidValidity, uid)) || this.owedDone.has(uid) || this.owedFlags.has(uid)) continue;
			const retry = this.retries.get(uid);
			if (!retry || retry.dueAt <= now) candidates.push(uid);
		}
		const low = lowest === Infinity ? Math.max(from, (present[present.length - 1] ?? 0) + 1) : lowest;
		const here = new Set(present);
		const overRetries = [...this.retries.keys()].filter((uid) => !this.inFlight.has(key(uidValidity, uid)) && (!here.has(uid) || this.isDone(uid)));
		for (const uid of overRetries) this.retries.delete(uid);
		return { candidates, low, overRetries };
	}

	/** Whether this message waits for a retry (retries are handed over one by one). */
	isRetry(uid: number): boolean {
		return this.retries.has(uid);
	}

	/** The message is handed over for processing; answers which attempt this is (1 on the first try). */
	startProcessing(uidValidity: string, uid: number, messageId: string | null): number {
		this.inFlight.set(key(uidValidity, uid), messageId);
		return (uidValidity === this.open ? (this.retries.get(uid)?.attempts ?? 0) : 0) + 1;
	}

	/** Being processed under any numbering (after a UIDVALIDITY change, its outcome decides what becomes of it). */
	isBeingProcessed(messageId: string): boolean {
		for (const id of this.inFlight.values()) if (id === messageId) return true;
		return false;
	}

	/** Their processing succeeded; true when they are to be recorded done (their numbering is still the open one). */
	succeeded(uidValidity: string, messages: Array<{ uid: number }>): boolean {
		const open = uidValidity === this.open;
		for (const { uid } of messages) {
			this.inFlight.delete(key(uidValidity, uid));
			if (open) this.retries.delete(uid);
		}
		return open;
	}

	/** Their processing failed at this attempt each: retried after the backoff, or given up (owed its keyword). */
	failed(uidValidity: string, messages: Array<{ uid: number; attempt: number }>, now: number): AfterFailure[] {
		const open = uidValidity === this.open;
		return messages.map(({ uid, attempt }) => {
			this.inFlight.delete(key(uidValidity, uid));
			const next = afterFailure(attempt, this.retry);
			if (!open) return next;
			if (next.giveUp) {
				this.retries.delete(uid);
				this.owedFlags.set(uid, 'given-up');
			} else {
				this.retries.set(uid, { attempts: attempt, dueAt: now + next.retryInMs });
			}
			return next;
		});
	}

	/** Over the size limit: owed its keyword; true the first time, when it is to be reported. */
	tooLarge(uidValidity: string, uid: number): boolean {
		if (uidValidity !== this.open) return false;
		this.owedFlags.set(uid, 'too-large');
		if (this.reportedTooLarge.has(uid)) return false;
		this.reportedTooLarge.add(uid);
		return true;
	}

	/** Done (processed, or taken in before a UIDVALIDITY change), to be recorded in the store. */
	oweDone(uidValidity: string, uids: number[]): void {
		if (uidValidity !== this.open) return;
		for (const uid of uids) this.owedDone.add(uid);
	}

	/** The done UIDs owed to the store, under the open numbering. */
	doneOwed(): { uidValidity: string; uids: number[] } | null {
		return this.open && this.owedDone.size ? { uidValidity: this.open, uids: [...this.owedDone] } : null;
	}

	/** The store has them as done now: folded into the done set as the store does (the run right above the mark into it). */
	recorded(uidValidity: string, uids: number[]): void {
		if (uidValidity !== this.open) return;
		this.addDone(uids);
		for (const uid of uids) this.owedDone.delete(uid);
	}

	/** The connection was lost before their after-processing action was applied: the next session applies it. */
	oweAction(uidValidity: string, uids: number[]): void {
		if (uidValidity !== this.open) return;
		for (const uid of uids) this.owedActions.add(uid);
	}

	/** The owed after-processing actions of this numbering, handed out once. */
	takeOwedActions(uidValidity: string): number[] {
		if (uidValidity !== this.open) return [];
		const uids = [...this.owedActions];
		this.owedActions.clear();
		return uids;
	}

	/** The keywords owed (given up, too large). */
	flagsOwed(uidValidity: string): Array<{ uid: number; reason: FlagReason }> {
		if (uidValidity !== this.open) return [];
		return [...this.owedFlags].map(([uid, reason]) => ({ uid, reason }));
	}

	flagged(uidValidity: string, uid: number): void {
		if (uidValidity === this.open) this.owedFlags.delete(uid);
	}

	/** When the earliest retry is due (Infinity when none). */
	nextRetryAt(): number {
		let next = Infinity;
		for (const { dueAt } of this.retries.values()) next = Math.min(next, dueAt);
		return next;
	}

	/** Something is owed to the store or the server: worth another try soon, not only at the next sweep. */
	owesSomething(): boolean {
		return this.owedDone.size > 0 || this.owedActions.size > 0 || this.owedFlags.size > 0;
	}

	private openNumbering(uidValidity: string): void {
		if (this.open === uidValidity) return;
		this.open = uidValidity;
		this.retries.clear();
		this.owedDone.clear();
		this.owedActions.clear();
		this.owedFlags.clear();
		this.reportedTooLarge.clear();
	}

	/** Adds to the done set and folds the run right above the mark into it, as the store does. */
	private addDone(uids: number[]): void {
		for (const uid of uids) if (uid > this.doneThrough) this.doneUids.add(uid);
		while (this.doneUids.delete(this.doneThrough + 1)) this.doneThrough++;
	}
}

function key(uidValidity: string, uid: number): string {
	return `${uidValidity}:${uid}`;
}
