/** The one retry rule of both doors: backoff with jitter, the give-up decision, the report of a message given up. */
import { afterFailure, DEFAULT_RETRY_POLICY, givenUpReport, isGivenUp, retryDelayMs, withTimeout, type RetryPolicy } from '../../../core/workflow-delivery/retry';

const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 5000 };
const middle = () => 0.5;

describe('retryDelayMs', () => {
	it('doubles from the base at each failure, up to the cap', () => {
		expect([1, 2, 3, 4, 10].map((n) => retryDelayMs(n, policy, middle))).toEqual([1000, 2000, 4000, 5000, 5000]);
	});

	it('spreads by +-20 % so messages failed together do not come back at once', () => {
		expect(retryDelayMs(2, policy, () => 0)).toBe(1600);
		expect(retryDelayMs(2, policy, () => 1)).toBe(2400);
	});

	it('treats "no failure yet" as the first', () => {
		expect(retryDelayMs(0, policy, middle)).toBe(1000);
	});

	it('needs only the backoff (a reconnect is never given up)', () => {
		expect(retryDelayMs(3, { baseDelayMs: 100, maxDelayMs: 60_000 }, middle)).toBe(400);
	});
});

describe('the give-up decision', () => {
	it('gives a message up after maxAttempts executions in all', () => {
		expect([1, 2, 3, 4].map((n) => isGivenUp(n, policy))).toEqual([false, false, true, true]);
	});

	it('answers a retry with its backoff, or the give-up', () => {
		expect(afterFailure(1, policy, middle)).toEqual({ giveUp: false, retryInMs: 1000 });
		expect(afterFailure(2, policy, middle)).toEqual({ giveUp: false, retryInMs: 2000 });
		expect(afterFailure(3, policy, middle)).toEqual({ giveUp: true });
	});

	it('with one attempt, gives up at the first failure', () => {
		expect(afterFailure(1, { ...policy, maxAttempts: 1 })).toEqual({ giveUp: true });
	});

	it('has a default of 5 attempts, 30 s doubling to at most 30 min', () => {
		expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 5, baseDelayMs: 30_000, maxDelayMs: 30 * 60_000 });
	});
});

describe('givenUpReport', () => {
	it('says what failed, how often, why, and where it waits', () => {
		expect(givenUpReport('The message <a@b>', 2, new Error('boom'), 'It stays here.')).toBe('The message <a@b> failed in 2 executions and is no longer retried: boom. It stays here.');
	});
});

describe('withTimeout', () => {
	it('passes the result through', async () => {
		await expect(withTimeout(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
	});

	it('rejects, naming what did not finish, when it takes too long', async () => {
		await expect(withTimeout(new Promise(() => undefined), 20, 'The execution')).rejects.toThrow('The execution did not finish within 0 s');
	});
});
