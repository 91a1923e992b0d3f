import { CheckRoom } from '../../../core/intake/check-room';

const MB = 1024 * 1024;

/** Which of these entries have been let in so far (each resolves when its message may be checked). */
function track(room: CheckRoom, sizes: number[]): { entered: boolean[] } {
	const state = { entered: sizes.map(() => false) };
	sizes.forEach((bytes, i) => void room.enter(bytes).then(() => (state.entered[i] = true)));
	return state;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the room for the checks of large messages', () => {
	it('lets large messages in, in arrival order, while the bytes under check stay within the bound', async () => {
		const room = new CheckRoom(64 * MB);
		const big = track(room, [28 * MB, 28 * MB, 28 * MB, 28 * MB]);
		await settle();
		expect(big.entered).toEqual([true, true, false, false]);
		expect(room.queued).toBe(2);
		room.leave(28 * MB);
		await settle();
		expect(big.entered).toEqual([true, true, true, false]);
		room.leave(28 * MB);
		room.leave(28 * MB);
		await settle();
		expect(big.entered).toEqual([true, true, true, true]);
		expect(room.queued).toBe(0);
	});

	it('never holds small mail behind large mail, and always lets one message in however large', async () => {
		const room = new CheckRoom(64 * MB);
		const big = track(room, [100 * MB, 28 * MB]);
		const small = track(room, [5 * 1024, MB]);
		await settle();
		expect(big.entered).toEqual([true, false]);
		expect(small.entered).toEqual([true, true]);
		room.leave(5 * 1024);
		room.leave(MB);
		room.leave(100 * MB);
		await settle();
		expect(big.entered).toEqual([true, true]);
	});

	it('keeps arrival order: a large message that would fit waits behind an earlier one that does not', async () => {
		const room = new CheckRoom(64 * MB);
		const first = track(room, [40 * MB, 30 * MB]);
		const later = track(room, [10 * MB]);
		await settle();
		expect(first.entered).toEqual([true, false]);
		expect(later.entered).toEqual([false]);
		room.leave(40 * MB);
		await settle();
		expect(first.entered).toEqual([true, true]);
		expect(later.entered).toEqual([true]);
	});
});
