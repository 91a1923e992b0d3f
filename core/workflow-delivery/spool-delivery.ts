import type { SpoolEntry } from '../store/types';
import type { SpoolStore } from '../store/roles';
import type { IntakeEmission } from './emission';
import { DEFAULT_RETRY_POLICY, EXECUTION_TIMEOUT_MS, retryDelayMs, withTimeout, type RetryPolicy } from './retry';

export interface SpoolDeliveryOptions {
	store: SpoolStore;
	inboxId: string;
	/**
	 * Rebuilds what to emit for an entry left over from an earlier run (the intake runs again on its raw bytes); null
	 * when there is nothing to emit, the entry settled otherwise (held for review).
	 */
	prepare(entry: SpoolEntry): Promise<IntakeEmission | null>;
	/** Emits; resolves once the workflow execution for it succeeded, rejects when it failed. */
	deliver(emission: IntakeEmission, entry: SpoolEntry): Promise<void>;
	/** An entry given up after `retry.maxAttempts` failed executions: it stays in the spool as `failed`. */
	onGiveUp(entry: SpoolEntry, error: Error): void;
	/** Trouble with the spool itself (store down during a sweep): reported, retried at the next sweep. */
	onError(error: Error): void;
	retry?: RetryPolicy;
	/** How often due leftovers are looked for. */
	sweepIntervalMs?: number;
	/** An execution that has not reported back by then counts as failed. */
	executionTimeoutMs?: number;
	/** Executions in flight at once; more wait for the next sweep. */
	maxInFlight?: number;
	now?: () => Date;
}

/**
 * The spool's side of "nothing lost, nothing twice": each spooled message is emitted, completed when its
 * execution succeeded (or earlier, when Resolve Original Sender recorded it: delivered means recorded), re-emitted with backoff when it failed (and on the next activation after a crash), and
 * reported after the last attempt. Replays are harmless because the store de-duplicates by Message-ID.
 */
export class SpoolDelivery {
	private readonly inFlight = new Map<string, Promise<void>>();
	private timer: NodeJS.Timeout | undefined;
	private sweeping: Promise<void> | undefined;
	private stopped = false;
	private readonly retry: RetryPolicy;
	private readonly maxInFlight: number;
	private readonly now: () => Date;

	constructor(private readonly options: SpoolDeliveryOptions) {
		this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
		this.maxInFlight = options.maxInFlight ?? 20;
		this.now = options.now ?? (() => new Date());
	}

	/** Re-emits what is due now (leftovers of a crash or a failed execution), then keeps sweeping. */
	start(): void {
		this.sweep();
		this.timer = setInterval(() => this.sweep(), this.options.sweepIntervalMs ?? 15_000);
		this.timer.unref();
	}

	/**
	 * A freshly spooled message, emitted at once with what the listener already computed; past maxInFlight it waits
	 * in the spool (durable, due now) and a sweep emits it once there is room, so a slow workflow never piles up
	 * emissions in memory.
	 */
	submit(entry: SpoolEntry, emission: IntakeEmission | Promise<IntakeEmission>): void {
		if (this.stopped || this.inFlight.has(entry.id) || this.inFlight.size >= this.maxInFlight) return;
		this.track(entry, Promise.resolve(emission));
	}

	get pending(): number {
		return this.inFlight.size;
	}

	/** Looks for due entries once (the timer calls it; tests may too). */
	sweep(): Promise<void> {
		this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
		return this.sweeping;
	}

	private async sweepOnce(): Promise<void> {
		if (this.stopped) return;
		const room = this.maxInFlight - this.inFlight.size;
		if (room <= 0) return;
		let due: SpoolEntry[];
		try {
			due = await this.options.store.spoolDue(this.options.inboxId, this.now().toISOString(), room + this.inFlight.size);
		} catch (error) {
			this.options.onError(error as Error);
			return;
		}
		for (const entry of due) {
			if (this.stopped || this.inFlight.has(entry.id)) continue;
			this.track(entry, this.options.prepare(entry));
		}
	}

	private track(entry: SpoolEntry, emission: Promise<IntakeEmission | null>): void {
		const run = this.run(entry, emission).finally(() => this.inFlight.delete(entry.id));
		this.inFlight.set(entry.id, run);
	}

	private async run(entry: SpoolEntry, emission: Promise<IntakeEmission | null>): Promise<void> {
		const { store } = this.options;
		try {
			const delivered = emission.then(async (ready) => {
				if (!ready) return false;
				await this.options.deliver(ready, entry);
				return true;
			});
			// Nothing to emit (held for review): nothing to complete either.
			if (!(await withTimeout(delivered, this.options.executionTimeoutMs ?? EXECUTION_TIMEOUT_MS, 'The workflow execution for this message'))) return;
		} catch (error) {
			const failure = error instanceof Error ? error : new Error(String(error));
			try {
				// The store counts the attempt and gives the entry up by the same rule as isGivenUp, atomically.
				const nextAttemptAt = new Date(this.now().getTime() + retryDelayMs(entry.attempts + 1, this.retry)).toISOString();
				const updated = await store.spoolFail(entry.id, failure.message, { nextAttemptAt, maxAttempts: this.retry.maxAttempts });
				if (updated.status === 'failed') this.options.onGiveUp(updated, failure);
			} catch (storeError) {
				// Left pending: the next sweep or activation emits it again.
				this.options.onError(storeError as Error);
			}
			return;
		}
		try {
			await store.spoolComplete(entry.id);
		} catch (storeError) {
			// Left pending: emitted again later, and the store's Message-ID de-duplication absorbs the replay.
			this.options.onError(storeError as Error);
		}
	}

	/** Stops sweeping and waits (bounded) for executions in flight, so their completion still reaches the store. */
	async stop(waitMs = 10_000): Promise<void> {
		this.stopped = true;
		if (this.timer) clearInterval(this.timer);
		const all = Promise.allSettled([...this.inFlight.values(), this.sweeping]);
		await withTimeout(all, waitMs, 'Executions in flight').catch(() => undefined);
	}
}
