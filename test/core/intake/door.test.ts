import { buffer } from 'node:stream/consumers';

import { zoneResolver, type DnsResolver } from '../../../core/dns';
import { parseInboxConfig, type InboxConfigInput } from '../../../core/inbox';
import { createIntakeDoor, decideSpooled, type DoorDecision } from '../../../core/intake/door';
import { readAttachments } from '../../../core/intake/pipeline';
import type { Envelope } from '../../../core/intake/types';
import { bytesOf } from '../../../core/message-bytes';
import { SMTP_REPLIES, verdictReply } from '../../../core/replies';
import { WRITES_ON_THE_WAY } from '../../../core/store/writes-on-the-way';
import { compose, testWorld } from '../../fixtures/mail';
import { describeEachStore, spooledRaw } from '../../support/stores';

const { zone } = testWorld();
const envelope = (address: string): Envelope => ({ clientIp: '203.0.113.9', helo: 'mail.sender.test', mailFrom: 'x@sender.test', rcpt: [address] });
const decided = (decision: DoorDecision) => {
	if (decision.outcome !== 'decided') throw new Error(`not decided: ${decision.problem}`);
	return decision;
};

describe('the intake door without a store (the CLI)', () => {
	it('decides only, as the door it explains the message through; data that is not an email is named, not thrown', async () => {
		const inbox = parseInboxConfig({ address: 'support@inbox.example.test' });
		const door = createIntakeDoor({ door: 'cli', as: 'smtp', inbox, resolver: zoneResolver(zone) });
		const raw = await compose({ from: 'quinn@quarantined.test', to: inbox.address, subject: 'explained', text: 'x' });
		const { message, spooled } = decided(await door({ raw, envelope: envelope(inbox.address), receivedAt: new Date('2026-03-01T10:00:00Z') }));
		expect(message.result.verdict.action).toBe('quarantine');
		expect(message.receivedAt).toBe('2026-03-01T10:00:00.000Z');
		expect(spooled).toBeNull();
		expect(await door({ raw: Buffer.from('just words\r\n'), envelope: envelope(inbox.address) })).toEqual({ outcome: 'not-an-email', problem: expect.stringMatching(/no header section/) });
	});

	it('hands out the message content as plain data: attachments by name and size (their bytes read again when emitted), header fields as decoded text', async () => {
		const inbox = parseInboxConfig({ address: 'support@inbox.example.test' });
		const raw = await compose({
			from: 'ann@sender.test',
			to: inbox.address,
			subject: 'with a file',
			text: 'see attached',
			headers: { 'X-Forwarded-To': inbox.address },
			attachments: [{ filename: 'notes.txt', content: 'the notes', contentType: 'text/plain' }],
		});
		const { message } = decided(await createIntakeDoor({ door: 'cli', as: 'smtp', inbox, resolver: zoneResolver({}) })({ raw, envelope: envelope(inbox.address) }));
		const { content } = message;
		expect(Object.getPrototypeOf(content)).toBe(Object.prototype);
		expect(content?.headers['x-forwarded-to']).toEqual([inbox.address]);
		expect(content?.headers.subject).toEqual(['with a file']);
		expect(content?.attachments).toEqual([{ filename: 'notes.txt', contentType: 'text/plain', size: 9, content: Buffer.alloc(0) }]);
		const read: string[] = [];
		await readAttachments(bytesOf(raw), async (attachment, index) => {
			read.push(`${index} ${attachment.filename} ${(await buffer(attachment.content)).toString()}`);
		});
		expect(read).toEqual(['0 notes.txt the notes']);
		expect(JSON.parse(JSON.stringify(content))).toMatchObject({ headers: { subject: ['with a file'] } });
	});
});

describe("the intake door's DNS", () => {
	it('asks each name once for a run of messages from one sender, and decides the second as the first', async () => {
		const asked: string[] = [];
		const counting: DnsResolver = (name, rrtype) => {
			asked.push(`${rrtype} ${name}`);
			return zoneResolver(zone)(name, rrtype);
		};
		const inbox = parseInboxConfig({ address: 'support@inbox.example.test' });
		const door = createIntakeDoor({ door: 'cli', as: 'smtp', inbox, resolver: counting });
		const results = [];
		for (const subject of ['first', 'second']) {
			const raw = await compose({ from: 'ann@customer.test', to: inbox.address, subject, text: 'x' });
			results.push(decided(await door({ raw, envelope: { clientIp: '198.51.100.7', helo: 'mail.customer.test', mailFrom: 'ann@customer.test', rcpt: [inbox.address] } })).message.result);
		}
		expect(asked.length).toBeGreaterThan(0);
		expect(new Set(asked).size).toBe(asked.length);
		expect(results[1].auth).toEqual(results[0].auth);
		expect(results[1].verdict).toEqual(results[0].verdict);
		expect(results[0].auth).toMatchObject({ spf: { result: 'pass' } });
	});
});

describeEachStore('the intake door', (getStore) => {
	let n = 0;
	async function doorFor(door: 'smtp' | 'imap', settings: Partial<InboxConfigInput> = {}, resolver: DnsResolver = zoneResolver(zone), holdQuarantined?: boolean) {
		const store = getStore();
		const address = `support-door-${++n}-${Date.now()}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const inbox = parseInboxConfig({ address, ...settings });
		return { store, inboxId, address, pass: createIntakeDoor({ door, store, inbox, inboxId, resolver, holdQuarantined }) };
	}

	it('spools accepted mail with its decision before the SMTP door answers, and logs nothing for it; the IMAP door leaves it in the mailbox', async () => {
		for (const door of ['smtp', 'imap'] as const) {
			const { store, inboxId, address, pass } = await doorFor(door);
			const raw = await compose({ from: 'ann@sender.test', to: address, subject: `accepted via ${door}`, text: 'x' });
			const { message, spooled } = decided(await pass({ raw, envelope: envelope(address) }));
			expect(message.result.verdict.action).toBe('accept');
			expect(await store.listIntake({ inboxId })).toEqual([]);
			if (door === 'imap') {
				expect(spooled).toBeNull();
				continue;
			}
			expect(spooled).toMatchObject({ inboxId, status: 'pending', receivedAt: message.receivedAt, decision: { verdict: { action: 'accept' } } });
			expect((await spooledRaw(store, spooled!.id)).equals(raw)).toBe(true);
		}
	});

	it("announces the spool write of each message the SMTP door checks, ended once the write is made or fails; a mailbox's door announces none", async () => {
		const before = WRITES_ON_THE_WAY.pending;
		const seen: number[] = [];
		const watching: DnsResolver = (name, rrtype) => {
			seen.push(WRITES_ON_THE_WAY.pending - before);
			return zoneResolver(zone)(name, rrtype);
		};
		const store = getStore();
		let failSpool = false;
		// The spool write, seen one event-loop turn after the door made it (its commit still under way).
		const watched = new Proxy(store, {
			get(target, key) {
				const value = Reflect.get(target, key) as unknown;
				if (key !== 'spoolPut') return typeof value === 'function' ? value.bind(target) : value;
				return (input: Parameters<typeof store.spoolPut>[0]) => {
					const writing = failSpool ? Promise.reject(new Error('disk full')) : target.spoolPut(input);
					setImmediate(() => seen.push(WRITES_ON_THE_WAY.pending - before));
					return writing;
				};
			},
		});
		for (const door of ['smtp', 'imap'] as const) {
			const address = `support-announced-${door}-${Date.now()}@inbox.example.test`;
			const { id: inboxId } = await store.registerInbox({ address });
			const pass = createIntakeDoor({ door, store: watched, inbox: parseInboxConfig({ address }), inboxId, resolver: watching });
			const raw = await compose({ from: 'ann@sender.test', to: address, subject: `announced via ${door}`, text: 'x' });
			seen.length = 0;
			decided(await pass({ raw, envelope: envelope(address) }));
			expect(WRITES_ON_THE_WAY.pending).toBe(before);
			// During the checks the message's write is on its way (SMTP); right after the spool write, it is not.
			expect(seen).toEqual(door === 'smtp' ? [...seen.slice(0, -1).map(() => 1), 0] : seen.map(() => 0));
			expect(seen.length).toBeGreaterThan(1);
			await pass({ raw: Buffer.from('just words\r\n'), envelope: envelope(address) });
			expect(WRITES_ON_THE_WAY.pending).toBe(before);
		}
		failSpool = true;
		const address = `support-announced-failing-${Date.now()}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const pass = createIntakeDoor({ door: 'smtp', store: watched, inbox: parseInboxConfig({ address }), inboxId, resolver: watching });
		const raw = await compose({ from: 'ann@sender.test', to: address, subject: 'spool fails', text: 'x' });
		await expect(pass({ raw, envelope: envelope(address) })).rejects.toThrow('disk full');
		expect(WRITES_ON_THE_WAY.pending).toBe(before);
	});

	it('holds quarantined mail in the spool and logs it once with its spool entry (a test run only logs it)', async () => {
		for (const [door, holdQuarantined] of [['smtp', undefined], ['imap', undefined], ['imap', false]] as const) {
			const { store, inboxId, address, pass } = await doorFor(door, {}, zoneResolver(zone), holdQuarantined);
			const raw = await compose({ from: 'quinn@quarantined.test', to: address, subject: 'held', text: 'x' });
			const { spooled } = decided(await pass({ raw, envelope: envelope(address) }));
			const logged = await store.listIntake({ inboxId });
			expect(logged).toHaveLength(1);
			expect(logged[0]).toMatchObject({ kind: 'quarantined', subject: 'held', from: 'quinn@quarantined.test', details: { verdict: { action: 'quarantine' } } });
			if (holdQuarantined === false) {
				expect(spooled).toBeNull();
				expect(logged[0].details).not.toHaveProperty('spoolId');
			} else {
				expect(spooled).toMatchObject({ status: 'quarantined' });
				expect(logged[0].details.spoolId).toBe(spooled!.id);
			}
		}
	});

	it('logs a rejection with its reasons and spools nothing', async () => {
		const { store, inboxId, address, pass } = await doorFor('smtp');
		const raw = await compose({ from: 'carol@customer.test', to: address, subject: 'forged', text: 'x' });
		const { message, spooled } = decided(await pass({ raw, envelope: envelope(address) }));
		expect(spooled).toBeNull();
		expect(verdictReply(message.result.verdict)).toMatchObject({ code: 550, enhancedCode: '5.7.1', text: expect.stringMatching(/^dmarc=fail \(p=reject\)/) });
		expect(await store.listIntake({ inboxId })).toEqual([expect.objectContaining({ kind: 'rejected', details: expect.objectContaining({ verdict: message.result.verdict }) })]);
		expect(await store.spoolList({ inboxId })).toEqual([]);
	});

	it('re-checks a spooled message without its decision: held for review if the checks would not accept it now (its sender had its 250), a deferral tried again, a release kept', async () => {
		const { store, inboxId, address } = await doorFor('smtp');
		const inbox = parseInboxConfig({ address });
		const spoolUndecided = async (from: string) => {
			const raw = await compose({ from, to: address, subject: `re-checked ${from}`, text: 'x' });
			return { raw, entry: await store.spoolPut({ inboxId, message: bytesOf(raw), envelope: envelope(address) }) };
		};
		const held = await spoolUndecided('quinn@quarantined.test');
		expect(await decideSpooled(store, inboxId, held.entry, bytesOf(held.raw), inbox, zoneResolver(zone))).toBeNull();
		expect(await store.spoolGet(held.entry.id)).toMatchObject({ status: 'quarantined', decision: { verdict: { action: 'quarantine' } } });
		expect((await store.listIntake({ inboxId })).map((entry) => [entry.kind, entry.details.spoolId])).toEqual([['quarantined', held.entry.id]]);

		// DNS down, with "defer": this attempt fails (the spool retries it with backoff), no decision kept.
		const later = await spoolUndecided('ann@sender.test');
		const dnsDown: DnsResolver = async () => await Promise.reject(Object.assign(new Error('DNS is down'), { code: 'ESERVFAIL' }));
		await expect(decideSpooled(store, inboxId, later.entry, bytesOf(later.raw), parseInboxConfig({ address, onDnsError: 'defer' }), dnsDown)).rejects.toThrow(
			/Checked again, the message was deferred/,
		);
		expect(await store.spoolGet(later.entry.id)).toMatchObject({ status: 'pending', decision: null });
		const accepted = await decideSpooled(store, inboxId, later.entry, bytesOf(later.raw), inbox, zoneResolver(zone));
		expect(accepted?.result.verdict.action).toBe('accept');
		expect((await store.spoolGet(later.entry.id))?.decision).toMatchObject({ verdict: { action: 'accept' } });

		// Released by someone, failed in its run, re-driven with a re-check: the release stands.
		await store.releaseQuarantined(held.entry.id, 'ana@company.test');
		await store.spoolFail(held.entry.id, 'workflow failed', { nextAttemptAt: new Date().toISOString(), maxAttempts: 1 });
		const redriven = await store.spoolRedrive(held.entry.id, undefined, true);
		expect((await decideSpooled(store, inboxId, redriven, bytesOf(held.raw), inbox, zoneResolver(zone)))?.result.verdict.action).toBe('quarantine');
		expect((await store.spoolGet(held.entry.id))?.status).toBe('pending');
	});

	it('logs each SMTP deferral (the sender retries); over IMAP a deferred message stays in the mailbox, recorded nowhere', async () => {
		const dnsDown: DnsResolver = async () => await Promise.reject(Object.assign(new Error('DNS is down'), { code: 'ESERVFAIL' }));
		for (const door of ['smtp', 'imap'] as const) {
			const { store, inboxId, address, pass } = await doorFor(door, { onDnsError: 'defer' }, dnsDown);
			const raw = await compose({ from: 'ann@sender.test', to: address, subject: 'later', text: 'x' });
			const { message, spooled } = decided(await pass({ raw, envelope: envelope(address) }));
			expect(message.result.verdict).toMatchObject({ action: 'defer', smtpCode: 451, enhancedCode: '4.7.0' });
			expect(spooled).toBeNull();
			expect((await store.listIntake({ inboxId })).map((entry) => entry.kind)).toEqual(door === 'smtp' ? ['deferred'] : []);
		}
	});

	it('refuses data that is not an email before any check, logged once as 554 5.6.0 with where the mailbox keeps it', async () => {
		const { store, inboxId, address, pass } = await doorFor('imap');
		const mailbox = { name: 'INBOX', uidValidity: '7', uid: 42 };
		expect(await pass({ raw: Buffer.from('\x00\x01\x02 binary'), envelope: envelope(address), mailbox })).toEqual({ outcome: 'not-an-email', problem: expect.stringMatching(/binary/) });
		const notAnEmail = SMTP_REPLIES.notAnEmail('x');
		const [logged, ...more] = await store.listIntake({ inboxId });
		expect(more).toEqual([]);
		expect(logged).toMatchObject({
			kind: 'rejected',
			...envelope(address),
			messageId: null,
			details: { verdict: { action: 'reject', smtpCode: notAnEmail.code, enhancedCode: notAnEmail.enhancedCode, flags: ['not-an-email'] }, mailbox },
		});
	});
});
