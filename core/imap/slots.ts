/** Processing calls running at once, at most `size` (1 keeps the mailbox order). */
export class Slots {
	private used = 0;
	private waiters: Array<() => void> = [];
	constructor(private readonly size: number) {}

	get full(): boolean {
		return this.used >= this.size;
	}

	/** Resolves once a slot was released, or everyone waiting was woken. */
	released(): Promise<void> {
		return new Promise((resolve) => this.waiters.push(resolve));
	}

	take(): void {
		this.used++;
	}

	release(): void {
		this.used--;
		this.waiters.shift()?.();
	}

	/** Wakes every waiter, to see that its session ended or the poller stopped. */
	wakeAll(): void {
		for (const wake of this.waiters.splice(0)) wake();
	}
}
