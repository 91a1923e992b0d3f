/** The UID ledger alone (no server, no store): what is done, owed, retried and given up, per UIDVALIDITY. */
import { UidLedger } from '../../../core/imap/uid-ledger';

const policy = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 };
const V = '100';
const NOW = 1_000_000;

function ledger(done: { through?: number; uids?: number[]; attempts?: Array<{ uid: number; attempts: number }> } = {}): UidLedger {
	const l = new UidLedger(policy);
	l.resume({ uidValidity: V, doneThrough: done.through ?? 0, doneUids: done.uids ?? [], attempts: done.attempts ?? [] });
	return l;
}

describe('UidLedger', () => {
	describe('the done set', () => {
		it('is done at or below the low-water mark and for the done UIDs above it', () => {
			const l = ledger({ through: 3, uids: [5, 7] });
			expect([1, 3, 4, 5, 6, 7, 8].map((uid) => l.isDone(uid))).toEqual([true, true, false, true, false, true, false]);
		});

		it('folds the run right above the mark into it as UIDs are recorded, in any order', () => {
			const l = ledger({ through: 2 });
			l.oweDone(V, [5, 3]);
			l.recorded(V, [5, 3]);
			expect(l.select(V, [3, 4, 5, 6], 1, NOW)).toMatchObject({ candidates: [4, 6], low: 4 });
			l.oweDone(V, [4]);
			l.recorded(V, [4]);
			expect(l.select(V, [3, 4, 5, 6], 1, NOW)).toMatchObject({ candidates: [6], low: 6 });
			expect(l.isDone(5)).toBe(true);
		});

		it('begins a numbering with what is out of scope: through UIDNEXT-1, and single UIDs', () => {
			const l = new UidLedger(policy);
			expect(l.uidValidity).toBeNull();
			l.begin(V, 0, [2, 1, 4]);
			expect(l.uidValidity).toBe(V);
			expect([1, 2, 3, 4].map((uid) => l.isDone(uid))).toEqual([true, true, false, true]);
			l.begin('200', 9, []);
			expect(l.isDone(9)).toBe(true);
			expect(l.isDone(10)).toBe(false);
		});
	});

	describe('selecting what to hand over', () => {
		it('hands over what is not done; the low mark is the lowest not done, or past the last present', () => {
			const l = ledger({ through: 2 });
			expect(l.select(V, [1, 2, 3, 4], 1, NOW)).toEqual({ candidates: [3, 4], low: 3, overRetries: [] });
			expect(l.select(V, [1, 2], 1, NOW)).toEqual({ candidates: [], low: 3, overRetries: [] });
			expect(l.select(V, [], 5, NOW)).toEqual({ candidates: [], low: 5, overRetries: [] });
		});

		it('never hands over twice what is being processed, owed to the store, or owed a keyword', () => {
			const l = ledger();
			l.startProcessing(V, 1, '<a@x>');
			l.oweDone(V, [2]);
			expect(l.tooLarge(V, 3)).toBe(true);
			expect(l.select(V, [1, 2, 3, 4], 1, NOW)).toEqual({ candidates: [4], low: 1, overRetries: [] });
			expect(l.owesSomething()).toBe(true);
		});

		it('answers for the open numbering only', () => {
			expect(ledger().select('999', [1, 2], 1, NOW)).toEqual({ candidates: [], low: 1, overRetries: [] });
		});
	});

	describe('retries', () => {
		it('counts attempts: retried after the backoff, then given up and owed its keyword', () => {
			const l = ledger();
			expect(l.startProcessing(V, 1, '<a@x>')).toBe(1);
			const [first] = l.failed(V, [{ uid: 1, attempt: 1 }], NOW);
			expect(first).toMatchObject({ giveUp: false });
			const dueAt = NOW + (first as { retryInMs: number }).retryInMs;
			expect(l.nextRetryAt()).toBe(dueAt);
			expect(l.isRetry(1)).toBe(true);
			expect(l.select(V, [1], 1, dueAt - 1).candidates).toEqual([]);
			expect(l.select(V, [1], 1, dueAt).candidates).toEqual([1]);
			expect(l.startProcessing(V, 1, '<a@x>')).toBe(2);
			l.failed(V, [{ uid: 1, attempt: 2 }], NOW);
			expect(l.startProcessing(V, 1, '<a@x>')).toBe(3);
			expect(l.failed(V, [{ uid: 1, attempt: 3 }], NOW)).toEqual([{ giveUp: true }]);
			expect(l.isRetry(1)).toBe(false);
			expect(l.nextRetryAt()).toBe(Infinity);
			expect(l.flagsOwed(V)).toEqual([{ uid: 1, reason: 'given-up' }]);
			expect(l.select(V, [1], 1, NOW + 1e9).candidates).toEqual([]);
			l.flagged(V, 1);
			expect(l.flagsOwed(V)).toEqual([]);
			expect(l.owesSomething()).toBe(false);
		});

		it('resumes the attempts counted before a restart: due at once, counting on; those used up are owed their keyword', () => {
			const l = ledger({ attempts: [{ uid: 4, attempts: 1 }, { uid: 5, attempts: 3 }] });
			expect(l.select(V, [4, 5], 1, 0).candidates).toEqual([4]);
			expect(l.startProcessing(V, 4, null)).toBe(2);
			expect(l.flagsOwed(V)).toEqual([{ uid: 5, reason: 'given-up' }]);
		});

		it('keeps its own count over the stored one on a reconnect (it knows the backoff)', () => {
			const l = ledger();
			l.startProcessing(V, 1, null);
			l.failed(V, [{ uid: 1, attempt: 1 }], NOW);
			l.resume({ uidValidity: V, doneThrough: 0, doneUids: [], attempts: [{ uid: 1, attempts: 1 }] });
			expect(l.select(V, [1], 1, NOW).candidates).toEqual([]);
		});

		it('forgets the retries of messages gone or done meanwhile', () => {
			const l = ledger();
			for (const uid of [1, 2, 3]) l.startProcessing(V, uid, null);
			l.failed(V, [1, 2, 3].map((uid) => ({ uid, attempt: 1 })), NOW);
			l.oweDone(V, [2]);
			l.recorded(V, [2]);
			expect(l.select(V, [2, 3], 1, NOW).overRetries.sort()).toEqual([1, 2]);
			expect(l.isRetry(3)).toBe(true);
			expect(l.select(V, [2, 3], 1, NOW).overRetries).toEqual([]);
		});

		it('a success ends the retry', () => {
			const l = ledger();
			l.startProcessing(V, 1, '<a@x>');
			l.failed(V, [{ uid: 1, attempt: 1 }], NOW);
			l.startProcessing(V, 1, '<a@x>');
			expect(l.succeeded(V, [{ uid: 1 }])).toBe(true);
			expect(l.isRetry(1)).toBe(false);
		});
	});

	describe('what is owed', () => {
		it('hands the owed done UIDs to the store until recorded', () => {
			const l = ledger();
			expect(l.doneOwed()).toBeNull();
			l.oweDone(V, [3, 4]);
			expect(l.doneOwed()).toEqual({ uidValidity: V, uids: [3, 4] });
			l.recorded(V, [3]);
			expect(l.doneOwed()).toEqual({ uidValidity: V, uids: [4] });
		});

		it('hands owed after-processing actions out once', () => {
			const l = ledger();
			l.oweAction(V, [1, 2]);
			expect(l.owesSomething()).toBe(true);
			expect(l.takeOwedActions(V)).toEqual([1, 2]);
			expect(l.takeOwedActions(V)).toEqual([]);
		});

		it('reports a message over the size limit once, and owes its keyword until flagged', () => {
			const l = ledger();
			expect(l.tooLarge(V, 7)).toBe(true);
			expect(l.tooLarge(V, 7)).toBe(false);
			expect(l.flagsOwed(V)).toEqual([{ uid: 7, reason: 'too-large' }]);
		});
	});

	describe('a UIDVALIDITY change', () => {
		it('closes the books of the old numbering: retries, owed UIDs, actions and keywords', () => {
			const l = ledger();
			l.startProcessing(V, 1, null);
			l.failed(V, [{ uid: 1, attempt: 1 }], NOW);
			l.oweDone(V, [2]);
			l.oweAction(V, [3]);
			l.tooLarge(V, 4);
			l.begin('200', 0, []);
			expect(l.owesSomething()).toBe(false);
			expect(l.nextRetryAt()).toBe(Infinity);
			expect(l.doneOwed()).toBeNull();
			expect(l.select('200', [1, 2, 3, 4], 1, NOW).candidates).toEqual([1, 2, 3, 4]);
		});

		it('keeps what is in flight under the old numbering known by its Message-ID; its outcome changes nothing of the new one', () => {
			const l = ledger();
			l.startProcessing(V, 1, '<a@x>');
			l.startProcessing(V, 2, '<b@x>');
			l.begin('200', 0, []);
			expect(l.isBeingProcessed('<a@x>')).toBe(true);
			expect(l.succeeded(V, [{ uid: 1 }])).toBe(false);
			expect(l.isBeingProcessed('<a@x>')).toBe(false);
			expect(l.failed(V, [{ uid: 2, attempt: 3 }], NOW)).toEqual([{ giveUp: true }]);
			expect(l.flagsOwed('200')).toEqual([]);
			l.oweDone(V, [1]);
			l.oweAction(V, [1]);
			expect(l.doneOwed()).toBeNull();
			expect(l.takeOwedActions('200')).toEqual([]);
		});

		it('ignores a late record of the old numbering', () => {
			const l = ledger();
			l.oweDone(V, [1]);
			l.begin('200', 0, []);
			l.recorded(V, [1]);
			expect(l.isDone(1)).toBe(false);
		});
	});
});
