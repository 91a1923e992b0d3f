/**
 * Retries of a message whose workflow execution failed, one rule for both doors: the SMTP spool (its attempts kept in
 * the store) and the IMAP poller (its attempts kept in the mailbox checkpoint). Exponential backoff with jitter, and
 * a message given up after `maxAttempts` executions in all, reported, never dropped.
 */

/** Exponential backoff: the first wait, doubled at each further failure, never longer than the cap. */
export interface Backoff {
	baseDelayMs: number;
	maxDelayMs: number;
}

/** How long to wait before emitting a message again after its execution failed, and when to give it up. */
export interface RetryPolicy extends Backoff {
	/** Attempts (executions) before the message is given up and reported. */
	maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 30_000, maxDelayMs: 30 * 60_000 };

/** An execution that never reports back counts as failed (and is retried), so a message is never stuck. */
export const EXECUTION_TIMEOUT_MS = 60 * 60_000;

/** Exponential backoff with +-20 % jitter, so messages failed together do not all come back at once. */
export function retryDelayMs(failedAttempts: number, backoff: Backoff, random: () => number = Math.random): number {
	const exponential = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1));
	return Math.round(exponential * (0.8 + 0.4 * random()));
}

/**
 * Whether a message that failed in this many executions is given up. The spool's store applies the same rule in SQL
 * (`attempts + 1 >= maxAttempts` in spoolFail), atomically, so two processes never count one failure twice.
 */
export function isGivenUp(failedAttempts: number, policy: RetryPolicy): boolean {
	return failedAttempts >= policy.maxAttempts;
}

/** What follows a failed execution: given up, or tried again after the backoff. */
export type AfterFailure = { giveUp: true } | { giveUp: false; retryInMs: number };

export function afterFailure(failedAttempts: number, policy: RetryPolicy, random: () => number = Math.random): AfterFailure {
	return isGivenUp(failedAttempts, policy) ? { giveUp: true } : { giveUp: false, retryInMs: retryDelayMs(failedAttempts, policy, random) };
}

/** The report of a message given up, the same words for either door: what it was, and where it waits for a person. */
export function givenUpReport(message: string, attempts: number, error: Error, whereItStays: string): string {
	return `${message} failed in ${attempts} executions and is no longer retried: ${error.message}. ${whereItStays}`;
}

/** Rejects when `promise` has not settled within `ms` (an execution that never reports back counts as failed). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
