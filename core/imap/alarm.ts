/**
 * A wait that can be cut short: the poller's one timer, for its next look at the mailbox (cut by new mail, a finished
 * processing, a lost connection, stop) and for its reconnect backoff (cut by stop only).
 */
export class Alarm {
	private rung = false;
	private cut: (() => void) | null = null;

	/** Ends the current wait; rung while nobody waits, it ends the next wait at once (until cleared). */
	ring(): void {
		this.rung = true;
		this.cut?.();
	}

	/** Forgets an earlier ring (what it asked for is about to happen anyway). */
	clear(): void {
		this.rung = false;
	}

	/** Waits `ms`, or until rung. */
	async sleep(ms: number): Promise<void> {
		if (this.rung) return;
		await new Promise<void>((resolve) => {
			const timer = setTimeout(done, ms);
			function done() {
				clearTimeout(timer);
				resolve();
			}
			this.cut = done;
		});
		this.cut = null;
	}
}
