import { WritesOnTheWay } from '../../../core/store/writes-on-the-way';

describe('writes on their way to the store', () => {
	it('counts each announced write until it arrives, once however often it says so', () => {
		const writes = new WritesOnTheWay();
		const first = writes.announce();
		const second = writes.announce();
		expect(writes.pending).toBe(2);
		first();
		first();
		expect(writes.pending).toBe(1);
		second();
		expect(writes.pending).toBe(0);
	});

	it('stops counting a write announced too long ago (a message whose DNS answers are slow holds no commit back)', () => {
		let now = 1_000;
		const writes = new WritesOnTheWay(50, () => now);
		const slow = writes.announce();
		now += 30;
		writes.announce();
		expect(writes.pending).toBe(2);
		now += 25;
		expect(writes.pending).toBe(1);
		now += 30;
		expect(writes.pending).toBe(0);
		slow();
		expect(writes.pending).toBe(0);
	});

	it('wakes whoever waits for the next arrival, or lets it go when its time is up', async () => {
		const writes = new WritesOnTheWay();
		const arrived = writes.announce();
		let woken = false;
		const waiting = writes.nextArrival(60_000).then(() => (woken = true));
		await Promise.resolve();
		expect(woken).toBe(false);
		arrived();
		await waiting;
		expect(woken).toBe(true);
		// Nobody on the way: the wait ends with its time.
		await writes.nextArrival(1);
	});
});
