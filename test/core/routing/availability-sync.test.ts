import { syncAvailabilityWithWorkingHours } from '../../../core/routing/availability';
import { describeEachStore } from '../../support/stores';

/** Monday 2026-11-30 10:30 UTC. */
const MONDAY_MORNING = new Date('2026-11-30T10:30:00Z');
const hours = (start: string, end: string) => ({ timeZone: 'UTC', days: { '1': { start, end } } });

describeEachStore('syncAvailabilityWithWorkingHours', (getStore) => {
	let n = 0;

	it('sets agents available inside their working hours and away outside, leaves agents without hours alone, and says why', async () => {
		const store = getStore();
		n += 1;
		const inside = await store.createAgent({ email: `in${n}@sync.test`, firstName: 'I', fullName: 'In Side', availability: 'away', workingHours: hours('09:00', '17:00') });
		const outside = await store.createAgent({ email: `out${n}@sync.test`, firstName: 'O', fullName: 'Out Side', workingHours: hours('13:00', '17:00') });
		const always = await store.createAgent({ email: `always${n}@sync.test`, firstName: 'A', fullName: 'Al Ways', availability: 'away' });

		const synced = await syncAvailabilityWithWorkingHours(store, MONDAY_MORNING);
		const byEmail = Object.fromEntries(synced.map((entry) => [entry.email, entry]));
		expect(byEmail[inside.email]).toEqual({ id: inside.id, email: inside.email, availability: 'available', changed: true, reason: 'Mon 10:30 UTC is inside working hours' });
		expect(byEmail[outside.email]).toMatchObject({ availability: 'away', changed: true, reason: 'Mon 10:30 UTC is outside working hours' });
		expect(byEmail[always.email]).toBeUndefined();
		expect((await store.getAgent(always.id))?.availability).toBe('away');

		const again = await syncAvailabilityWithWorkingHours(store, MONDAY_MORNING);
		expect(again.filter((entry) => [inside.email, outside.email].includes(entry.email) && entry.changed)).toEqual([]);
	});
});
