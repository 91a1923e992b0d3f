import { bytesOf } from '../../../core/message-bytes';
import { DEFAULT_RETENTION, parseInboxConfig } from '../../../core/inbox';
import type { IntakeDecision } from '../../../core/intake/types';
import { erasePerson } from '../../../core/retention/erase';
import { cutoffsFor, purgeAll, purgeInbox, schedulePurge } from '../../../core/retention/purge';
import { mentions, rawMentions, redact } from '../../../core/store/mentions';
import type { SpoolEntry } from '../../../core/store/types';
import type { Store } from '../../../core/store/roles';
import { decisionFor } from '../../fixtures/intake';
import { describeEachStore } from '../../support/stores';
import { inbound, uniqueEmail } from '../store/fixtures';

const NOW = new Date('2025-06-30T12:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
const envelope = (mailFrom: string | null): SpoolEntry['envelope'] => ({ clientIp: '192.0.2.1', helo: 'mx.example.test', mailFrom, rcpt: ['support@inbox.example.test'] });

async function spoolAged(store: Store, inboxId: string, status: SpoolEntry['status'], days: number, raw = 'Subject: hi\r\n\r\nbody\r\n', mailFrom: string | null = null): Promise<string> {
	const entry = await store.spoolPut({ inboxId, message: bytesOf(Buffer.from(raw)), envelope: envelope(mailFrom), receivedAt: daysAgo(days), spooledAt: daysAgo(days), quarantined: status === 'quarantined' });
	if (status === 'done') await store.spoolComplete(entry.id);
	if (status === 'failed') await store.spoolFail(entry.id, 'workflow failed', { nextAttemptAt: NOW.toISOString(), maxAttempts: 1 });
	return entry.id;
}

describe('inbox retention settings', () => {
	it('default to 30 days of delivered raw messages, 30 of quarantine and 90 of intake log; 0 keeps for ever', () => {
		expect(parseInboxConfig({ address: 'support@inbox.example.test' }).retention).toEqual({ deliveredRawDays: 30, quarantineDays: 30, intakeLogDays: 90 });
		expect(parseInboxConfig({ address: 'support@inbox.example.test', retention: { intakeLogDays: 0 } }).retention).toEqual({ ...DEFAULT_RETENTION, intakeLogDays: 0 });
		expect(() => parseInboxConfig({ address: 'support@inbox.example.test', retention: { quarantineDays: -1 } })).toThrow(/retention.quarantineDays/);
		expect(cutoffsFor({ deliveredRawDays: 0, quarantineDays: 1, intakeLogDays: 0 }, NOW)).toEqual({ deliveredBefore: null, quarantinedBefore: daysAgo(1), intakeLogBefore: null, replaysExpiredBy: NOW.toISOString() });
	});

	it('purges once at once, then on every interval, until stopped', async () => {
		jest.useFakeTimers();
		try {
			const purge = jest.fn(async () => undefined);
			const schedule = schedulePurge(purge, () => undefined, 1000);
			await jest.advanceTimersByTimeAsync(0);
			expect(purge).toHaveBeenCalledTimes(1);
			await jest.advanceTimersByTimeAsync(2000);
			expect(purge).toHaveBeenCalledTimes(3);
			await schedule.stop();
			await jest.advanceTimersByTimeAsync(5000);
			expect(purge).toHaveBeenCalledTimes(3);
		} finally {
			jest.useRealTimers();
		}
	});
});

describe('mentions of an address', () => {
	const key = 'ann_b@customer.example.test';
	it('finds the whole address in any case, not a longer one that contains it', () => {
		expect(mentions('From: "Ann" <ANN_B@Customer.Example.Test>', key)).toBe(true);
		expect(mentions('see https://x.test/?email=ann_b@customer.example.test.', key)).toBe(true);
		for (const other of ['joann_b@customer.example.test', 'j.ann_b@customer.example.test', 'ann_b@customer.example.testing', 'ann_b@customer.example.test.au', 'annxb@customer.example.test']) {
			expect(mentions(other, key)).toBe(false);
		}
		expect(redact('to ann_b@customer.example.test and joann_b@customer.example.test', key)).toBe('to [erased] and joann_b@customer.example.test');
	});

	it('finds it in raw bytes read in chunks, wherever the chunks cut, and judges its boundaries across them', async () => {
		const split = async (text: string, at: number[]) => rawMentions([0, ...at].map((start, i) => Buffer.from(text.slice(start, at[i]), 'latin1')), key);
		const named = `\u0000\u00ffCc: Ann_B@customer.example.test\r\n`;
		const longer = 'Cc: joann_b@customer.example.test.au\r\n';
		for (let cut = 0; cut <= named.length; cut++) {
			expect(await split(named, [cut])).toBe(true);
			expect(await split(longer, [cut])).toBe(false);
			expect(await split(longer, [cut, cut + 1, cut + 3])).toBe(false);
		}
		expect(await split(`${longer}To: ann_b@customer.example.test`, [5, 45, 60])).toBe(true);
		expect(await rawMentions([], key)).toBe(false);
	});
});

describeEachStore('retention and erasure', (getStore) => {
	it('purges delivered and quarantined spool entries and intake log entries by age per setting, never pending or failed ones', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('purge', 'inbox.example.test') });
		const old = {
			done: await spoolAged(store, inbox.id, 'done', 31),
			quarantined: await spoolAged(store, inbox.id, 'quarantined', 31),
			pending: await spoolAged(store, inbox.id, 'pending', 400),
			failed: await spoolAged(store, inbox.id, 'failed', 400),
		};
		const recent = { done: await spoolAged(store, inbox.id, 'done', 29), quarantined: await spoolAged(store, inbox.id, 'quarantined', 29) };
		const log = (days: number) => store.logIntake({ inboxId: inbox.id, kind: 'rejected', at: daysAgo(days), clientIp: null, helo: null, mailFrom: null, rcpt: [], messageId: null, from: null, subject: null, details: {} });
		const oldLog = await log(91);
		const recentLog = await log(89);

		expect(await purgeInbox(store, inbox.id, DEFAULT_RETENTION, NOW)).toEqual({ delivered: 1, quarantined: 1, intakeLog: 1, replays: 0 });
		const left = new Set((await store.spoolList({ inboxId: inbox.id })).map((entry) => entry.id));
		expect([...left].sort()).toEqual([old.pending, old.failed, recent.done, recent.quarantined].sort());
		expect((await store.listIntake({ inboxId: inbox.id })).map((entry) => entry.id)).toEqual([recentLog.id]);
		expect(oldLog.id).not.toBe(recentLog.id);

		// A shorter setting reaches the recent ones; 0 keeps that kind for ever.
		expect(await purgeInbox(store, inbox.id, { deliveredRawDays: 7, quarantineDays: 0, intakeLogDays: 0 }, NOW)).toEqual({ delivered: 1, quarantined: 0, intakeLog: 0, replays: 0 });
		expect((await store.spoolGet(recent.quarantined))?.status).toBe('quarantined');
	});

	it('counts from when the inbox took a message in, not from its receipt where it came from (a mailbox keeps old mail)', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('taken-in', 'inbox.example.test') });
		// In the mailbox for 45 days, taken in (and held) yesterday: an unread old message at a trigger's first start.
		const spool = (status: 'done' | 'quarantined') => store.spoolPut({ inboxId: inbox.id, message: bytesOf(Buffer.from('Subject: old\r\n\r\nbody\r\n')), envelope: envelope(null), receivedAt: daysAgo(45), spooledAt: daysAgo(1), quarantined: status === 'quarantined' });
		const held = await spool('quarantined');
		const delivered = await spool('done');
		await store.spoolComplete(delivered.id);
		expect(await purgeInbox(store, inbox.id, DEFAULT_RETENTION, NOW)).toEqual({ delivered: 0, quarantined: 0, intakeLog: 0, replays: 0 });
		expect((await store.spoolGet(held.id))?.status).toBe('quarantined');
		expect((await store.spoolGet(delivered.id))?.receivedAt).toBe(daysAgo(45));
	});

	it('counts a held message from when it was held: a failed message a re-check holds weeks after its spooling is kept for review', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('held-late', 'inbox.example.test') });
		const weeksAgo = new Date(Date.now() - 45 * 86_400_000).toISOString();
		const entry = await store.spoolPut({ inboxId: inbox.id, message: bytesOf(Buffer.from('Subject: old\r\n\r\nbody\r\n')), envelope: envelope(null), receivedAt: weeksAgo, spooledAt: weeksAgo });
		await store.spoolFail(entry.id, 'workflow failed', { nextAttemptAt: weeksAgo, maxAttempts: 1 });
		// Re-driven with Check Again today; the checks would not accept it now: held.
		await store.spoolRedrive(entry.id, undefined, true);
		const log = { inboxId: inbox.id, kind: 'quarantined' as const, clientIp: null, helo: null, mailFrom: null, rcpt: [inbox.address], messageId: null, from: null, subject: 'old', details: {} };
		await store.spoolHold(entry.id, decisionFor('ann@customer.test', envelope(null), { action: 'quarantine', reasons: ['DKIM key gone'] }), log);
		expect((await purgeInbox(store, inbox.id, DEFAULT_RETENTION)).quarantined).toBe(0);
		expect((await store.listQuarantined({ inboxId: inbox.id })).map((held) => held.id)).toEqual([entry.id]);
	});

	it('purges every inbox with the retention its trigger recorded', async () => {
		const store = getStore();
		const keeping = await store.registerInbox({ address: uniqueEmail('keeps', 'inbox.example.test'), retention: { deliveredRawDays: 0, quarantineDays: 0, intakeLogDays: 0 } });
		const defaults = await store.registerInbox({ address: uniqueEmail('defaults', 'inbox.example.test') });
		expect((await store.getInbox(keeping.address))?.retention).toEqual({ deliveredRawDays: 0, quarantineDays: 0, intakeLogDays: 0 });
		const kept = await spoolAged(store, keeping.id, 'done', 1000);
		const gone = await spoolAged(store, defaults.id, 'done', 31);
		const purged = await purgeAll(store, NOW);
		expect(purged.find((p) => p.inbox === defaults.address)).toMatchObject({ delivered: 1, retention: DEFAULT_RETENTION });
		expect(await store.spoolGet(kept)).not.toBeNull();
		expect(await store.spoolGet(gone)).toBeNull();
	});

	it('erases a person in every inbox: contact, conversations, messages, tickets, assignments, intake log and spool; others keep their rest', async () => {
		const store = getStore();
		const ann = uniqueEmail('ann');
		const joann = `jo${ann}`;
		const inboxA = await store.registerInbox({ address: uniqueEmail('a', 'inbox.example.test') });
		const inboxB = await store.registerInbox({ address: uniqueEmail('b', 'inbox.example.test') });
		const agent = await store.createAgent({ email: uniqueEmail('agent', 'team.example.test'), firstName: 'Maria', fullName: 'Maria Lopez' });
		const annA = await store.createContact(inboxA.id, { email: ann, name: 'Ann Erasable' });
		const annB = await store.createContact(inboxB.id, { email: ann.toUpperCase() });
		const jo = await store.createContact(inboxA.id, { email: joann, name: 'Jo' });

		const own = await store.recordMessage(inbound(inboxA.id, annA.id, { from: ann }));
		await store.recordMessage(inbound(inboxB.id, annB.id, { from: ann }));
		await store.createTicketOnce(own.conversation.id, { name: `Ticket of ${ann}` });
		await store.assignConversation(own.conversation.id, { assigneeId: agent.id, teamId: null, rule: 'owner', reason: `owner of ${ann}` });
		// Jo's conversation: Ann is Cc'd, then writes into it herself.
		const jos = await store.recordMessage(inbound(inboxA.id, jo.id, { from: joann, cc: [ann], text: `Ann (${ann}) knows` }));
		await store.createTicketOnce(jos.conversation.id, { name: 'Jo ticket', properties: { cc: ann } });
		await store.recordMessage(inbound(inboxA.id, jo.id, { from: ann, conversationId: jos.conversation.id }));

		const rejected = await store.logIntake({ inboxId: inboxA.id, kind: 'rejected', clientIp: null, helo: null, mailFrom: ann, rcpt: [inboxA.address], messageId: null, from: ann, subject: 'spam', details: {} });
		const joLog = await store.logIntake({ inboxId: inboxA.id, kind: 'rejected', clientIp: null, helo: null, mailFrom: joann, rcpt: [inboxA.address], messageId: null, from: joann, subject: 'x', details: {} });
		const byEnvelope = await spoolAged(store, inboxA.id, 'pending', 1, 'Subject: x\r\n\r\nx\r\n', ann);
		const byDecision = (await store.spoolPut({ inboxId: inboxA.id, message: bytesOf(Buffer.from('Subject: y\r\n\r\n')), envelope: envelope(null), quarantined: true, decision: { originalSender: { address: ann } } as unknown as IntakeDecision })).id;
		const byRaw = await spoolAged(store, inboxA.id, 'done', 1, `From: Someone <x@example.test>\r\nCc: ${ann.toUpperCase()}\r\n\r\nhi\r\n`);
		const josSpool = await spoolAged(store, inboxA.id, 'done', 1, `From: ${joann}\r\n\r\nhi\r\n`, joann);

		const erased = await erasePerson(store, ` ${ann.toUpperCase()} `);
		expect(erased).toEqual({
			email: ann.toUpperCase(),
			contacts: 2,
			conversations: 2,
			messages: 3,
			tickets: 1,
			assignments: 1,
			intakeLog: 1,
			spool: 3,
			redacted: 2,
			filesClean: true,
		});
		expect(await store.getContact(annA.id)).toBeNull();
		expect(await store.getConversation(own.conversation.id)).toBeNull();
		for (const id of [byEnvelope, byDecision, byRaw]) expect(await store.spoolGet(id)).toBeNull();
		expect(await store.spoolGet(josSpool)).not.toBeNull();
		const logIds = (await store.listIntake({ inboxId: inboxA.id })).map((entry) => entry.id);
		expect(logIds).toContain(joLog.id);
		expect(logIds).not.toContain(rejected.id);
		expect(await store.getContact(jo.id)).not.toBeNull();
		const [joMessage] = await store.listMessages(jos.conversation.id);
		expect(joMessage).toMatchObject({ from: joann, cc: ['[erased]'], text: 'Ann ([erased]) knows' });
		expect((await store.listMessages(jos.conversation.id)).length).toBe(1);
		expect((await store.getTicketForConversation(jos.conversation.id))?.properties).toEqual({ cc: '[erased]' });

		expect(await erasePerson(store, ann)).toMatchObject({ contacts: 0, messages: 0, spool: 0, redacted: 0 });
		await expect(erasePerson(store, 'not an address')).rejects.toThrow(/Invalid contact email/);
	});
});
