import { InvalidInputError } from '../../../core/errors';
import { DEFAULT_RETENTION } from '../../../core/inbox';
import { purgeInbox } from '../../../core/retention/purge';
import { describeEachStore } from '../../support/stores';
import { uniqueEmail } from './fixtures';

const NOW = new Date('2026-03-01T10:00:00.000Z');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString();

describeEachStore('the HTTP replay cache', (getStore) => {
	it('claims a token once while it is live, per inbox; an expired claim is free again', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('replays', 'inbox.example.test') });
		const other = await store.registerInbox({ address: uniqueEmail('replays-other', 'inbox.example.test') });
		expect(await store.claimReplayToken(inbox.id, 'tok-1', later(300), NOW.toISOString())).toBe(true);
		expect(await store.claimReplayToken(inbox.id, 'tok-1', later(300), later(299))).toBe(false);
		expect(await store.claimReplayToken(other.id, 'tok-1', later(300), NOW.toISOString())).toBe(true);
		// Past its expiry the row no longer guards: the claim takes it over with the new expiry.
		expect(await store.claimReplayToken(inbox.id, 'tok-1', later(900), later(300))).toBe(true);
		expect(await store.claimReplayToken(inbox.id, 'tok-1', later(900), later(600))).toBe(false);
	});

	it('lets exactly one of concurrent claims of the same token win', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('race', 'inbox.example.test') });
		const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimReplayToken(inbox.id, 'raced', later(300), NOW.toISOString())));
		expect(claims.filter(Boolean)).toHaveLength(1);
	});

	it('frees a released token at once; releasing an unknown token changes nothing', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('release', 'inbox.example.test') });
		expect(await store.claimReplayToken(inbox.id, 'again', later(300), NOW.toISOString())).toBe(true);
		await store.releaseReplayToken(inbox.id, 'again');
		await store.releaseReplayToken(inbox.id, 'never-claimed');
		expect(await store.claimReplayToken(inbox.id, 'again', later(300), NOW.toISOString())).toBe(true);
	});

	it('refuses an empty or oversized token, an unknown inbox and a bad expiry as bad input', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('bad', 'inbox.example.test') });
		await expect(store.claimReplayToken(inbox.id, '', later(300))).rejects.toBeInstanceOf(InvalidInputError);
		await expect(store.claimReplayToken(inbox.id, 'x'.repeat(257), later(300))).rejects.toThrow(/at most 256/);
		await expect(store.claimReplayToken('no-such-inbox', 'x', later(300))).rejects.toThrow(/Unknown inbox/);
		await expect(store.claimReplayToken(inbox.id, 'x', 'soon')).rejects.toThrow(/expiresAt must be an ISO date-time/);
	});

	it('has its expired claims purged with the inbox retention, the live ones kept', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('purged-replays', 'inbox.example.test') });
		await store.claimReplayToken(inbox.id, 'expired', later(-1), later(-400));
		await store.claimReplayToken(inbox.id, 'live', later(300), later(-1));
		expect(await purgeInbox(store, inbox.id, DEFAULT_RETENTION, NOW)).toMatchObject({ replays: 1 });
		// The live claim still guards; the purged one is gone (a claim of it wins even at a time it would have been live).
		expect(await store.claimReplayToken(inbox.id, 'live', later(600), NOW.toISOString())).toBe(false);
		expect(await store.claimReplayToken(inbox.id, 'expired', later(600), later(-2))).toBe(true);
	});
});
