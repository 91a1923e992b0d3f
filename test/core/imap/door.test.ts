import { zoneResolver, type DnsResolver } from '../../../core/dns';
import { DEFAULT_RETENTION, parseInboxConfig } from '../../../core/inbox';
import { createImapDoor, IntakeDeferredError } from '../../../core/imap/door';
import { purgeInbox } from '../../../core/retention/purge';
import { compose, testWorld } from '../../fixtures/mail';
import { describeEachStore } from '../../support/stores';

describeEachStore('IMAP intake on the store', (getStore) => {
	it('leaves a message for later (IntakeDeferredError, nothing logged) when the checks outlast the intake deadline', async () => {
		const store = getStore();
		const address = `support-${Date.now()}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const silentDns: DnsResolver = () => new Promise(() => {});
		const takeIn = createImapDoor({ store, inbox: parseInboxConfig({ address, intakeDeadlineSeconds: 0.5 }), inboxId, resolver: silentDns });
		const raw = await compose({ from: 'carol@customer.example', to: address, subject: 'slow dns', text: 'x' });
		const outcome = takeIn({ mailbox: 'INBOX', uidValidity: '1', uid: 1, raw, size: raw.length, messageId: null, from: null, internalDate: new Date().toISOString(), attempt: 1 });
		await expect(outcome).rejects.toThrow(IntakeDeferredError);
		await expect(outcome).rejects.toThrow(/intake deadline of 0\.5 s/);
		expect(await store.listIntake({ inboxId })).toEqual([]);
	});

	it('holds quarantined mail in the spool with its decision (a test run only logs it); the mailbox message is then done', async () => {
		const store = getStore();
		const address = `support-q-${Date.now()}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const options = { store, inbox: parseInboxConfig({ address }), inboxId, resolver: zoneResolver(testWorld().zone) };
		const raw = await compose({ from: 'quinn@quarantined.test', to: address, subject: 'held over IMAP', text: 'x' });
		const message = { mailbox: 'INBOX', uidValidity: '1', uid: 7, raw, size: raw.length, messageId: null, from: null, internalDate: new Date().toISOString(), attempt: 1 };

		expect(await createImapDoor({ ...options, holdQuarantined: false })(message)).toMatchObject({ action: 'aside' });
		expect(await store.listQuarantined({ inboxId })).toEqual([]);

		expect(await createImapDoor(options)(message)).toMatchObject({ action: 'aside', run: { result: { verdict: { action: 'quarantine' } } } });
		const [held] = await store.listQuarantined({ inboxId });
		expect(held).toMatchObject({ envelope: { rcpt: [address] }, decision: { verdict: { action: 'quarantine' }, originalSender: { address: 'quinn@quarantined.test' } } });
		const logged = await store.listIntake({ inboxId, kind: 'quarantined' });
		expect(logged).toHaveLength(2);
		expect(logged.filter((l) => l.details.spoolId === held.id)).toHaveLength(1);
	});

	it('keeps a message held today for the quarantine retention, however old the date its mailbox gave it', async () => {
		const store = getStore();
		const address = `support-qr-${Date.now()}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const takeIn = createImapDoor({ store, inbox: parseInboxConfig({ address }), inboxId, resolver: zoneResolver(testWorld().zone) });
		const raw = await compose({ from: 'quinn@quarantined.test', to: address, subject: 'held over IMAP, old internal date', text: 'x' });
		// In the mailbox for 45 days: an unread old message taken in at a first start, or one a mail client moved in.
		const internalDate = new Date(Date.now() - 45 * 86_400_000).toISOString();
		const outcome = await takeIn({ mailbox: 'INBOX', uidValidity: '1', uid: 3, raw, size: raw.length, messageId: null, from: null, internalDate, attempt: 1 });
		expect(outcome).toMatchObject({ action: 'aside', run: { result: { verdict: { action: 'quarantine' } } } });
		// The trigger's purge (at activation, then daily) with the default 30 days of quarantine.
		expect((await purgeInbox(store, inboxId, DEFAULT_RETENTION)).quarantined).toBe(0);
		expect(await store.listQuarantined({ inboxId })).toEqual([expect.objectContaining({ receivedAt: internalDate })]);
	});
});
