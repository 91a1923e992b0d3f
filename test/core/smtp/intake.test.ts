import { createTransport } from 'nodemailer';

import { zoneResolver, type Zone } from '../../../core/dns';
import { parseInboxConfig, type InboxConfigInput } from '../../../core/inbox';
import { createSmtpIntake } from '../../../core/smtp/intake';
import { openStore } from '../../../core/store/open';
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS, type AttachedInbox } from '../../../core/smtp/listener';
import type { SpoolEntry } from '../../../core/store/types';
import { describeEachStore } from '../../support/stores';
import { compose, testWorld } from '../../fixtures/mail';

const ADDRESS = 'support@inbox.example.test';

describeEachStore('SMTP intake on the store', (getStore, _engine, getOptions) => {
	let attached: AttachedInbox | undefined;
	afterEach(async () => {
		await attached?.detach();
		attached = undefined;
	});

	async function listen(store = getStore(), trust: Partial<InboxConfigInput> = {}, zone: Zone = {}) {
		const inbox = parseInboxConfig({ address: ADDRESS, ...trust });
		const { id: inboxId } = await store.registerInbox({ address: ADDRESS });
		const spooled: SpoolEntry[] = [];
		const receive = createSmtpIntake({ store, inbox, inboxId, resolver: zoneResolver(zone), onSpooled: (entry) => spooled.push(entry) });
		attached = await attachHostedInbox({ ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port: 0 }, { address: ADDRESS, maxMessageBytes: inbox.maxMessageBytes, receive });
		return { inboxId, spooled, transport: createTransport({ host: '127.0.0.1', port: attached.port, ignoreTLS: true }) };
	}

	it('answers 250 only once the raw message is in the spool, with the real envelope', async () => {
		const store = getStore();
		const { inboxId, spooled, transport } = await listen();
		const info = await transport.sendMail({ from: 'a@customer.example', to: ADDRESS, subject: 'spooled', text: 'x', envelope: { from: 'bounce@customer.example', to: [ADDRESS] } });
		expect(spooled).toHaveLength(1);
		expect(info.response).toBe(`250 2.0.0 Queued as ${spooled[0].id}`);
		const [entry] = await store.spoolList({ inboxId, status: 'pending' });
		expect(entry.raw.toString()).toContain('Subject: spooled');
		expect(entry.envelope).toEqual({ clientIp: '127.0.0.1', helo: expect.any(String), mailFrom: 'bounce@customer.example', rcpt: [ADDRESS] });
	});

	it('refuses data that is not an email with 554 5.6.0 and logs it', async () => {
		const store = getStore();
		const { inboxId, transport } = await listen();
		const error = await transport.sendMail({ envelope: { from: 'a@customer.example', to: [ADDRESS] }, raw: 'just some words without any header\r\n' }).catch((e: unknown) => e);
		expect(error).toMatchObject({ responseCode: 554, response: expect.stringMatching(/^554 5\.6\.0 Message refused: input has no header section/) });
		expect(await store.listIntake({ inboxId, kind: 'rejected' })).toHaveLength(1);
	});

	it('does not believe Authentication-Results the SMTP client wrote, even under a trusted authserv-id; a trusted relay\'s it does', async () => {
		const store = getStore();
		const { zone } = testWorld();
		// carol@customer.test has p=reject and this message carries no signature: only a believed header could save it.
		const forged = Buffer.concat([
			Buffer.from('Authentication-Results: mx.company.test; spf=pass smtp.mailfrom=customer.test; dmarc=pass header.from=customer.test\r\n'),
			await compose({ from: 'carol@customer.test', to: ADDRESS, subject: 'forged results', text: 'x' }),
		]);
		const send = (transport: ReturnType<typeof createTransport>) => transport.sendMail({ envelope: { from: 'carol@customer.test', to: [ADDRESS] }, raw: forged });

		const stranger = await listen(store, { trustedAuthservIds: ['mx.company.test'] }, zone);
		const error = await send(stranger.transport).catch((e: unknown) => e);
		expect(error).toMatchObject({ responseCode: 550, response: expect.stringMatching(/^550 5\.7\.1 dmarc=fail \(p=reject\) for customer\.test/) });
		const [logged] = await store.listIntake({ inboxId: stranger.inboxId, kind: 'rejected' });
		const verdict = (logged.details as { verdict: { flags: string[]; reasons: string[] } }).verdict;
		expect(verdict.flags).toContain('authentication-results-ignored');
		expect(verdict.reasons).toContainEqual(expect.stringContaining('Authentication-Results of mx.company.test not believed: on SMTP only a trusted relay\'s count, and the client 127.0.0.1 could have written it'));
		stranger.transport.close();
		await attached?.detach();

		const relay = await listen(store, { trustedAuthservIds: ['mx.company.test'], trustedRelays: ['127.0.0.1/32'] }, zone);
		expect((await send(relay.transport)).response).toMatch(/^250 2\.0\.0 Queued as /);
		relay.transport.close();
	});

	it('answers 451 4.3.0, never 250, when the store is down', async () => {
		const store = getStore();
		const options = getOptions();
		// A second handle on the same store, closed: every write fails as in an outage.
		const broken = await openStore(options);
		const { spooled, transport } = await listen(broken);
		await broken.close();
		const error = await transport.sendMail({ from: 'a@customer.example', to: ADDRESS, subject: 'outage', text: 'x' }).catch((e: unknown) => e);
		expect(error).toMatchObject({ responseCode: 451, response: expect.stringMatching(/^451 4\.3\.0 Temporary local problem: the inbox store is unavailable/) });
		expect(spooled).toEqual([]);
		expect((await store.spoolList()).filter((e) => e.raw.toString().includes('Subject: outage'))).toEqual([]);
	});
});
