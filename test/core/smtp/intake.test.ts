import { createTransport } from 'nodemailer';

import { zoneResolver } from '../../../core/dns';
import { parseInboxConfig } from '../../../core/inbox';
import { createSmtpIntake } from '../../../core/smtp/intake';
import { openStore } from '../../../core/store/open';
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS, type AttachedInbox } from '../../../core/smtp/listener';
import type { SpoolEntry } from '../../../core/store/types';
import { describeEachStore } from '../../support/stores';

const ADDRESS = 'support@inbox.example.test';

describeEachStore('SMTP intake on the store', (getStore, _engine, getOptions) => {
	let attached: AttachedInbox | undefined;
	afterEach(async () => {
		await attached?.detach();
		attached = undefined;
	});

	async function listen(store = getStore()) {
		const inbox = parseInboxConfig({ address: ADDRESS });
		const { id: inboxId } = await store.registerInbox({ address: ADDRESS });
		const spooled: SpoolEntry[] = [];
		const receive = createSmtpIntake({ store, inbox, inboxId, resolver: zoneResolver({}), onSpooled: (entry) => spooled.push(entry) });
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
