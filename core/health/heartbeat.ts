import type { TriggerHeartbeat } from '../store/types';
import type { HeartbeatStore } from '../store/roles';

/** How often a running trigger says so in the store; two missed beats make it "silent". */
export const HEARTBEAT_INTERVAL_MS = 30_000;

/**
 * A trigger's voice in the store: a beat at activation and every interval while it listens or polls, a clean stop
 * at deactivation, and its latest error. Writing never fails the trigger: trouble goes to onError.
 */
export class Heartbeat {
	private timer: NodeJS.Timeout | undefined;
	private readonly writes = new Set<Promise<unknown>>();
	private readonly intervalMs: number;

	constructor(
		private readonly options: {
			store: HeartbeatStore;
			inboxId: string;
			via: TriggerHeartbeat['via'];
			onError(error: Error): void;
			intervalMs?: number;
		},
	) {
		this.intervalMs = options.intervalMs ?? HEARTBEAT_INTERVAL_MS;
	}

	/** Resolves once the activation is written (or its failure reported). */
	async start(): Promise<void> {
		await this.beat('started');
		this.timer = setInterval(() => void this.beat('running'), this.intervalMs);
		this.timer.unref();
	}

	noteError(error: Error | string): void {
		this.write(this.options.store.noteTriggerError(this.options.inboxId, typeof error === 'string' ? error : error.message));
	}

	/** Stops beating and writes the clean stop after the writes still under way. */
	async stop(): Promise<void> {
		if (this.timer) clearInterval(this.timer);
		this.timer = undefined;
		await Promise.allSettled([...this.writes]);
		await this.beat('stopped');
	}

	private beat(event: 'started' | 'running' | 'stopped'): Promise<unknown> {
		return this.write(this.options.store.beatTrigger(this.options.inboxId, { via: this.options.via, event, intervalMs: this.intervalMs }));
	}

	private write(operation: Promise<unknown>): Promise<unknown> {
		const tracked = operation.catch((error: Error) => this.options.onError(error)).finally(() => this.writes.delete(tracked));
		this.writes.add(tracked);
		return tracked;
	}
}
