/** How long to wait before emitting a message again after its execution failed. */
export interface RetryPolicy {
	/** Attempts (executions) before the message is given up and reported. */
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 30_000, maxDelayMs: 30 * 60_000 };

/** Exponential backoff with +-20 % jitter, so messages failed together do not all come back at once. */
export function retryDelayMs(failedAttempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
	const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1));
	return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** Rejects when `promise` has not settled within `ms` (an execution that never reports back counts as failed). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
