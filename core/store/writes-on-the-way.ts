/**
 * Writes on their way to the store: a message at the intake door spools within a millisecond or two of its checks.
 * The embedded store's group commit waits briefly for them to join it (PostgreSQL's commit_delay with
 * commit_siblings), so concurrent messages share one commit and one flush instead of taking turns.
 */
export class WritesOnTheWay {
	private count = 0;
	private readonly listeners = new Set<() => void>();

	/** One write announced; the function returned says it arrived (or will not come), and only its first call counts. */
	announce(): () => void {
		this.count++;
		let arrived = false;
		return () => {
			if (arrived) return;
			arrived = true;
			this.count--;
			for (const listener of [...this.listeners]) listener();
		};
	}

	get pending(): number {
		return this.count;
	}

	/** Resolves when an announced write arrives, or after `ms`, whichever is first. */
	nextArrival(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const done = () => {
				clearTimeout(timer);
				this.listeners.delete(done);
				resolve();
			};
			const timer = setTimeout(done, ms);
			this.listeners.add(done);
		});
	}
}

/** The process's: every door and store in it. */
export const WRITES_ON_THE_WAY = new WritesOnTheWay();
