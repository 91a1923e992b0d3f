/**
 * Writes on their way to the store: a message at the intake door spools once its checks end, within milliseconds
 * when its DNS answers come quickly. The embedded store's group commit waits briefly for them to join it
 * (PostgreSQL's commit_delay with commit_siblings), so concurrent messages share one commit and one flush instead of
 * taking turns.
 */
export class WritesOnTheWay {
	private readonly announced = new Set<{ at: number }>();
	private readonly listeners = new Set<() => void>();

	/**
	 * @param countsForMs how long an announced write counts as on its way: a message whose checks wait longer (slow
	 * DNS, a sender's tarpit) no longer holds commits back.
	 */
	constructor(
		private readonly countsForMs = 50,
		private readonly now = () => performance.now(),
	) {}

	/** One write announced; the function returned says it arrived (or will not come), and only its first call counts. */
	announce(): () => void {
		const write = { at: this.now() };
		this.announced.add(write);
		return () => {
			if (!this.announced.delete(write)) return;
			for (const listener of [...this.listeners]) listener();
		};
	}

	/** Writes announced within the last `countsForMs` that have not arrived. */
	get pending(): number {
		const since = this.now() - this.countsForMs;
		let count = 0;
		for (const write of this.announced) if (write.at > since) count++;
		return count;
	}

	/** Resolves when an announced write arrives, after `ms`, or when `stop` aborts, whichever is first. */
	nextArrival(ms: number, stop?: AbortSignal): Promise<void> {
		return new Promise((resolve) => {
			const done = () => {
				clearTimeout(timer);
				this.listeners.delete(done);
				stop?.removeEventListener('abort', done);
				resolve();
			};
			const timer = setTimeout(done, ms);
			this.listeners.add(done);
			stop?.addEventListener('abort', done);
		});
	}
}

/** The process's: every door and store in it. */
export const WRITES_ON_THE_WAY = new WritesOnTheWay();
