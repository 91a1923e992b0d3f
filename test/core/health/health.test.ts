import { bytesOf } from '../../../core/message-bytes';
import { Heartbeat } from '../../../core/health/heartbeat';
import { inboxHealth } from '../../../core/health/health';
import { listSpool, redriveFailed } from '../../../core/spool/spool';
import { InvalidInputError } from '../../../core/errors';
import type { Store } from '../../../core/store/roles';
import { decisionFor } from '../../fixtures/intake';
import { describeEachStore } from '../../support/stores';
import { inbound, uniqueEmail } from '../store/fixtures';

const envelope = { clientIp: '192.0.2.1', helo: 'mx.customer.test', mailFrom: 'a@customer.test', rcpt: ['support@inbox.test'] };

/** A message whose header section is small and whose body is far beyond what a listing may read. */
function bigMessage(subject: string): Buffer {
	return Buffer.concat([Buffer.from(`From: Ann <ann@customer.test>\r\nSubject: ${subject}\r\n\r\n`), Buffer.alloc(300_000, 0x78)]);
}

async function failedEntry(store: Store, inboxId: string, subject: string, receivedAt: string) {
	const entry = await store.spoolPut({ inboxId, message: bytesOf(bigMessage(subject)), envelope, receivedAt });
	await store.spoolFail(entry.id, 'the workflow failed', { nextAttemptAt: receivedAt, maxAttempts: 2 });
	return await store.spoolFail(entry.id, 'the workflow failed again', { nextAttemptAt: receivedAt, maxAttempts: 2 });
}

describeEachStore('failed spool entries and inbox health', (getStore) => {
	it('lists spool entries by status with From and Subject from the first 64 KB only, newest first; all but done by default', async () => {
		const store = getStore();
		const { id: inboxId } = await store.registerInbox({ address: uniqueEmail('support', 'inbox.test') });
		const failed = await failedEntry(store, inboxId, 'Refund please', '2026-03-01T10:00:00.000Z');
		const pending = await store.spoolPut({ inboxId, message: bytesOf(bigMessage('Still waiting')), envelope, receivedAt: '2026-03-01T11:00:00.000Z' });
		const done = await store.spoolPut({ inboxId, message: bytesOf(bigMessage('Done already')), envelope, receivedAt: '2026-03-01T12:00:00.000Z' });
		await store.spoolComplete(done.id);
		const held = await store.spoolPut({ inboxId, message: bytesOf(bigMessage('Held')), envelope, receivedAt: '2026-03-01T13:00:00.000Z', quarantined: true });

		const heads = await store.spoolHeads({ inboxId });
		expect(heads.map((h) => h.id)).toEqual([held.id, pending.id, failed.id]);
		for (const head of heads) expect(head.head.length).toBe(64 * 1024);
		expect((await store.spoolHeads({ inboxId, statuses: ['done'] })).map((h) => h.id)).toEqual([done.id]);
		await expect(store.spoolHeads({ inboxId, statuses: ['lost' as never] })).rejects.toBeInstanceOf(InvalidInputError);

		expect(await listSpool(store, { inboxId, statuses: ['failed'] })).toEqual([
			{
				id: failed.id,
				inboxId,
				status: 'failed',
				from: 'ann@customer.test',
				subject: 'Refund please',
				receivedAt: '2026-03-01T10:00:00.000Z',
				attempts: 2,
				nextAttemptAt: '2026-03-01T10:00:00.000Z',
				lastError: 'the workflow failed again',
			},
		]);
		expect(await listSpool(store, { inboxId, limit: 1 })).toMatchObject([{ id: held.id, status: 'quarantined', subject: 'Held' }]);
	});

	it('re-drives a failed entry once: pending, due now, attempts from zero, its last error kept until it succeeds', async () => {
		const store = getStore();
		const { id: inboxId } = await store.registerInbox({ address: uniqueEmail('support', 'inbox.test') });
		const failed = await failedEntry(store, inboxId, 'Refund please', '2026-03-01T10:00:00.000Z');
		const before = Date.now();
		const redriven = await redriveFailed(store, failed.id);
		expect(redriven).toMatchObject({ id: failed.id, status: 'pending', attempts: 0, subject: 'Refund please', lastError: 'the workflow failed again' });
		expect(Date.parse(redriven.nextAttemptAt)).toBeGreaterThanOrEqual(before - 1);
		expect((await store.spoolDue(inboxId)).map((e) => e.id)).toEqual([failed.id]);
		// Once: it is no longer failed; nor can a pending, done or quarantined entry be re-driven.
		await expect(redriveFailed(store, failed.id)).rejects.toThrow(`No failed spool entry with id ${failed.id}`);
		await store.spoolComplete(failed.id);
		await expect(store.spoolRedrive(failed.id)).rejects.toBeInstanceOf(InvalidInputError);
		expect((await store.spoolGet(failed.id))?.lastError).toBeNull();
		// A re-driven entry failing again gets the full number of attempts before it is failed again.
		const again = await failedEntry(store, inboxId, 'Again', '2026-03-02T10:00:00.000Z');
		await store.spoolRedrive(again.id);
		expect((await store.spoolFail(again.id, 'x', { nextAttemptAt: '2026-03-02T10:00:00.000Z', maxAttempts: 2 })).status).toBe('pending');
	});

	it('re-drives with the decision the message was answered with, or, asked to re-check, without it until a new one is kept', async () => {
		const store = getStore();
		const { id: inboxId } = await store.registerInbox({ address: uniqueEmail('support', 'inbox.test') });
		const decision = decisionFor('ann@customer.test', envelope);
		const fail = async (id: string) => {
			await store.spoolFail(id, 'x', { nextAttemptAt: '2026-03-03T10:00:00.000Z', maxAttempts: 1 });
		};
		const kept = await store.spoolPut({ inboxId, message: bytesOf(bigMessage('Kept')), envelope, decision });
		await fail(kept.id);
		expect((await redriveFailed(store, kept.id)) && (await store.spoolGet(kept.id))?.decision).toEqual(decision);
		const rechecked = await store.spoolPut({ inboxId, message: bytesOf(bigMessage('Rechecked')), envelope, decision });
		await fail(rechecked.id);
		await redriveFailed(store, rechecked.id, { recheck: true });
		expect((await store.spoolGet(rechecked.id))?.decision).toBeNull();
		const anew = { ...decision, verdict: { ...decision.verdict, flags: ['dns-error' as const] } };
		await store.spoolKeepDecision(rechecked.id, anew);
		await store.spoolKeepDecision(rechecked.id, decision);
		expect((await store.spoolGet(rechecked.id))?.decision).toEqual(anew);
	});

	it('says a trigger is running while its heartbeat is fresh, silent once it went stale, stopped after a clean stop, and keeps its last error', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('support', 'inbox.test') });
		const status = async (at: string) => (await inboxHealth(store, { inbox: inbox.address, at: new Date(at) }))[0].trigger.status;
		expect(await status('2026-03-01T10:00:00.000Z')).toBe('never-started');

		await store.beatTrigger(inbox.id, { via: 'smtp', event: 'started', intervalMs: 30_000, at: '2026-03-01T10:00:00.000Z' });
		await store.beatTrigger(inbox.id, { via: 'smtp', event: 'running', intervalMs: 30_000, at: '2026-03-01T10:00:30.000Z' });
		await store.noteTriggerError(inbox.id, 'answered 451: disk full', '2026-03-01T10:00:40.000Z');
		expect(await status('2026-03-01T10:01:30.000Z')).toBe('running');
		expect(await status('2026-03-01T10:01:30.001Z')).toBe('silent');
		const [health] = await inboxHealth(store, { inbox: inbox.id, at: new Date('2026-03-01T10:01:00.000Z') });
		expect(health).toMatchObject({
			inbox: { id: inbox.id, address: inbox.address },
			trigger: { status: 'running', via: 'smtp', startedAt: '2026-03-01T10:00:00.000Z', lastBeatAt: '2026-03-01T10:00:30.000Z', stoppedAt: null },
			lastError: { message: 'answered 451: disk full', at: '2026-03-01T10:00:40.000Z' },
		});

		const stopped = await store.beatTrigger(inbox.id, { via: 'smtp', event: 'stopped', intervalMs: 30_000, at: '2026-03-01T10:02:00.000Z' });
		expect(stopped).toMatchObject({ state: 'stopped', startedAt: '2026-03-01T10:00:00.000Z', stoppedAt: '2026-03-01T10:02:00.000Z' });
		expect(await status('2026-03-09T00:00:00.000Z')).toBe('stopped');
		// A new activation starts afresh; the last error stays, with its time.
		const restarted = await store.beatTrigger(inbox.id, { via: 'imap', event: 'started', intervalMs: 60_000, at: '2026-03-02T08:00:00.000Z' });
		expect(restarted).toMatchObject({ state: 'running', via: 'imap', startedAt: '2026-03-02T08:00:00.000Z', stoppedAt: null, lastError: { message: 'answered 451: disk full' } });
		expect(await status('2026-03-02T08:02:00.000Z')).toBe('running');
		await expect(store.beatTrigger('no-such-inbox', { via: 'smtp', event: 'started', intervalMs: 30_000 })).rejects.toBeInstanceOf(InvalidInputError);
		await expect(inboxHealth(store, { inbox: 'nobody@inbox.test' })).rejects.toThrow('Unknown inbox: nobody@inbox.test');
	});

	it('takes the last message received from the spool, the intake log and the inbound messages, and counts backlog, failed and quarantined', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('support', 'inbox.test') });
		const health = async () => (await inboxHealth(store, { inbox: inbox.address, at: new Date('2026-03-01T12:00:00.000Z') }))[0];
		expect(await health()).toMatchObject({ lastReceivedAt: null, secondsSinceLastReceived: null, backlog: { count: 0, oldestReceivedAt: null, oldestAgeSeconds: null }, failed: 0, quarantined: 0 });

		const { contact } = await store.findOrCreateContact(inbox.id, { email: 'ann@customer.test' });
		await store.recordMessage(inbound(inbox.id, contact.id, { receivedAt: '2026-03-01T08:00:00.000Z' }));
		// An outbound reply is not something the inbox received.
		await store.recordMessage(inbound(inbox.id, contact.id, { direction: 'out', receivedAt: '2026-03-01T11:30:00.000Z' }));
		expect((await health()).lastReceivedAt).toBe('2026-03-01T08:00:00.000Z');
		await store.logIntake({ inboxId: inbox.id, kind: 'rejected', at: '2026-03-01T09:00:00.000Z', clientIp: null, helo: null, mailFrom: null, rcpt: [], messageId: null, from: null, subject: null, details: {} });
		expect((await health()).lastReceivedAt).toBe('2026-03-01T09:00:00.000Z');

		await store.spoolPut({ inboxId: inbox.id, message: bytesOf(bigMessage('one')), envelope, receivedAt: '2026-03-01T10:00:00.000Z' });
		await store.spoolPut({ inboxId: inbox.id, message: bytesOf(bigMessage('two')), envelope, receivedAt: '2026-03-01T10:30:00.000Z' });
		await failedEntry(store, inbox.id, 'three', '2026-03-01T09:30:00.000Z');
		await store.spoolPut({ inboxId: inbox.id, message: bytesOf(bigMessage('held')), envelope, receivedAt: '2026-03-01T10:45:00.000Z', quarantined: true });
		const done = await store.spoolPut({ inboxId: inbox.id, message: bytesOf(bigMessage('done')), envelope, receivedAt: '2026-03-01T10:50:00.000Z' });
		await store.spoolComplete(done.id);
		// Another inbox's mail counts for that inbox only.
		const other = await store.registerInbox({ address: uniqueEmail('sales', 'inbox.test') });
		await store.spoolPut({ inboxId: other.id, message: bytesOf(bigMessage('other')), envelope, receivedAt: '2026-03-01T11:59:00.000Z' });

		expect(await health()).toMatchObject({
			lastReceivedAt: '2026-03-01T10:50:00.000Z',
			secondsSinceLastReceived: 70 * 60,
			backlog: { count: 2, oldestReceivedAt: '2026-03-01T10:00:00.000Z', oldestAgeSeconds: 2 * 3600 },
			failed: 1,
			quarantined: 1,
			trigger: { status: 'never-started' },
			lastError: null,
		});
		expect((await inboxHealth(store)).map((h) => h.inbox.address)).toEqual(expect.arrayContaining([inbox.address, other.address]));
	});

	it('Heartbeat writes the activation at once, beats every interval, notes errors and writes a clean stop; store trouble goes to onError', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('support', 'inbox.test') });
		const troubles: string[] = [];
		const heartbeat = new Heartbeat({ store, inboxId: inbox.id, via: 'imap', intervalMs: 50, onError: (error) => troubles.push(error.message) });
		await heartbeat.start();
		const started = (await store.inboxHealthFacts(inbox.id)).heartbeat!;
		expect(started).toMatchObject({ state: 'running', via: 'imap', intervalMs: 50 });
		await new Promise((r) => setTimeout(r, 200));
		expect((await store.inboxHealthFacts(inbox.id)).heartbeat!.beatAt > started.beatAt).toBe(true);
		heartbeat.noteError(new Error('Lost the IMAP connection'));
		await heartbeat.stop();
		const stopped = (await store.inboxHealthFacts(inbox.id)).heartbeat!;
		expect(stopped).toMatchObject({ state: 'stopped', startedAt: started.startedAt, lastError: { message: 'Lost the IMAP connection' } });
		const beatAt = stopped.beatAt;
		await new Promise((r) => setTimeout(r, 150));
		expect((await store.inboxHealthFacts(inbox.id)).heartbeat!.beatAt).toBe(beatAt);
		expect(troubles).toEqual([]);

		const broken = new Heartbeat({
			store: { beatTrigger: () => Promise.reject(new Error('store down')), noteTriggerError: () => Promise.reject(new Error('store still down')) },
			inboxId: inbox.id,
			via: 'smtp',
			onError: (error) => troubles.push(error.message),
		});
		await broken.start();
		broken.noteError('trouble');
		await broken.stop();
		expect(troubles).toEqual(['store down', 'store still down', 'store down']);
	});
});
