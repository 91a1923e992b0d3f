/** Hostile senders (issue #13) over a real SMTP client against the listener, on each store engine. */
import { createTransport } from 'nodemailer';

import { zoneResolver, type Zone } from '../../../core/dns';
import { parseInboxConfig } from '../../../core/inbox';
import { createSmtpDoor } from '../../../core/smtp/door';
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS, type AttachedInbox } from '../../../core/smtp/listener';
import type { SpoolEntry } from '../../../core/store/types';
import { makeKey, sign, testWorld, zoneOf } from '../../fixtures/mail';
import { describeEachStore } from '../../support/stores';

const ADDRESS = 'support@inbox.example.test';

describeEachStore('SMTP listener against hostile senders', (getStore) => {
	const world = testWorld();
	const attacker = makeKey('attacker.test');
	// The attacker's own nameserver fails on purpose, for its DKIM key and its MAIL FROM domain.
	const zone: Zone = zoneOf(world.zone, { 'attacker.test': { error: 'ESERVFAIL' }, 's1._domainkey.attacker.test': { error: 'ESERVFAIL' } });
	let attached: AttachedInbox | undefined;
	afterEach(async () => {
		await attached?.detach();
		attached = undefined;
	});

	async function listen() {
		const store = getStore();
		const inbox = parseInboxConfig({ address: ADDRESS, internalDomains: ['company.test'] });
		const { id: inboxId } = await store.registerInbox({ address: ADDRESS });
		const spooled: SpoolEntry[] = [];
		const receive = createSmtpDoor({ store, inbox, inboxId, resolver: zoneResolver(zone), onSpooled: (entry) => spooled.push(entry) });
		attached = await attachHostedInbox({ ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port: 0 }, { address: ADDRESS, maxMessageBytes: inbox.maxMessageBytes, receive });
		const transport = createTransport({ host: '127.0.0.1', port: attached.port, ignoreTLS: true, name: 'mx.attacker.test' });
		return { store, inboxId, spooled, transport };
	}

	it("refuses 550 5.7.1 a p=reject spoof even when the attacker's own DKIM and MAIL FROM domains answer SERVFAIL", async () => {
		const { store, inboxId, spooled, transport } = await listen();
		const message = `From: Carol <carol@customer.test>\r\nTo: ${ADDRESS}\r\nSubject: Invoice\r\nMessage-ID: <spoof-1@attacker.test>\r\n\r\nPlease pay.\r\n`;
		const raw = await sign(Buffer.from(message), attacker);
		const error = await transport.sendMail({ envelope: { from: 'bounce@attacker.test', to: [ADDRESS] }, raw }).catch((e: unknown) => e);
		expect(error).toMatchObject({ responseCode: 550, response: expect.stringMatching(/^550 5\.7\.1 dmarc=fail \(p=reject\) for customer\.test/) });
		expect(spooled).toEqual([]);
		const [logged] = await store.listIntake({ inboxId, kind: 'rejected' });
		expect(logged.details).toMatchObject({ auth: { spf: { result: 'temperror' }, dmarc: { result: 'fail' } } });
	});

	it('holds a From in group syntax in the quarantine (250 2.6.0 with its id), emits nothing and logs it under no sender', async () => {
		const { store, inboxId, spooled, transport } = await listen();
		const raw = `From: Board: CEO <ceo@company.test>;\r\nTo: ${ADDRESS}\r\nSubject: Wire transfer\r\nMessage-ID: <group-1@attacker.test>\r\n\r\nWire it today.\r\n`;
		const info = await transport.sendMail({ envelope: { from: 'bounce@attacker.test', to: [ADDRESS] }, raw });
		const id = /^250 2\.6\.0 Message accepted and held for review as (\S+)$/.exec(info.response)?.[1];
		expect((await store.spoolGet(id!))?.status).toBe('quarantined');
		expect(spooled).toEqual([]);
		const [logged] = await store.listIntake({ inboxId, kind: 'quarantined' });
		expect(logged).toMatchObject({ from: null, mailFrom: 'bounce@attacker.test' });
		expect(logged.details).toMatchObject({ verdict: { flags: expect.arrayContaining(['from-not-one-mailbox']) }, originalSender: { address: null } });
	});
});
