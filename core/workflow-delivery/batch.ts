/**
 * Collects items and hands them over in batches (at most `maxItems`, at the latest `maxDelayMs` after the first),
 * so that a spam wave on the Rejected / quarantined output costs one execution per batch, not one per message.
 */
export class Batcher<T> {
	private items: T[] = [];
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly flushTo: (items: T[]) => void,
		private readonly maxItems = 100,
		private readonly maxDelayMs = 10_000,
	) {}

	add(item: T): void {
		this.items.push(item);
		if (this.items.length >= this.maxItems) this.flush();
		else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs).unref();
	}

	flush(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = undefined;
		if (!this.items.length) return;
		const batch = this.items;
		this.items = [];
		this.flushTo(batch);
	}
}
