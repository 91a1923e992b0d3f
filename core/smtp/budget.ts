/** By default the budget holds this many messages of the largest size limit on the listener at once. */
export const DEFAULT_BUDGET_MESSAGES = 10;
/** A spent budget is noted at most this often: a flood of senders is one log line a minute, not one a message. */
export const BUDGET_NOTE_INTERVAL_MS = 60_000;

/** One message's hold on the budget, taken chunk by chunk as its DATA arrives. */
export interface BudgetShare {
	/** Takes room for one more chunk; false (taking nothing) when the budget has no room for it. */
	take(bytes: number): boolean;
	/** Gives back all it holds: the message is answered, dropped or no longer buffered. Safe to call again. */
	release(): void;
}

/**
 * The bytes of messages held in memory while they arrive, across every connection of one listener: past it, a
 * message is drained instead of buffered and deferred (4.3.1), so a crowd of large messages cannot run n8n out of
 * memory. Postfix's analogue is queue_minfree, the free queue space below which it answers 452 4.3.1.
 */
export class InFlightBudget {
	private held = 0;
	private deferredSinceNote = 0;
	private notedAt = -Infinity;

	constructor(
		/** The budget in bytes; read on each use, as it follows the inboxes on the listener. */
		private readonly limit: () => number,
		/** Where a spent budget is noted (the inboxes' log and status), at most once per interval. */
		private readonly note: (message: string) => void,
		/** Whose budget it is and what a message past it is told, for the note. */
		private readonly words = { whose: "The SMTP listener's", told: 'deferred with 4.3.1' },
	) {}

	/** Bytes still free. */
	get left(): number {
		return Math.max(0, this.limit() - this.held);
	}

	share(): BudgetShare {
		let held = 0;
		return {
			take: (bytes) => {
				if (this.held + bytes > this.limit()) return false;
				held += bytes;
				this.held += bytes;
				return true;
			},
			release: () => {
				this.held -= held;
				held = 0;
			},
		};
	}

	/** A message (or a declared SIZE) was deferred for want of room: noted now (to `note`, the budget's own when none), or counted into the next note. */
	deferred(note = this.note): void {
		this.deferredSinceNote++;
		const now = Date.now();
		if (now - this.notedAt < BUDGET_NOTE_INTERVAL_MS) return;
		const count = this.deferredSinceNote;
		this.notedAt = now;
		this.deferredSinceNote = 0;
		note(
			`${this.words.whose} in-flight budget of ${this.limit()} bytes is spent: ${count} message${count === 1 ? '' : 's'} ${this.words.told} (the senders retry later) since the last note; a larger budget needs as much more memory`,
		);
	}
}
