import { createTransport } from 'nodemailer';

import { spooledBytes } from '../../../core/spool/spool';
import { bytesOf } from '../../../core/message-bytes';
import { zoneResolver, type DnsResolver, type Zone } from '../../../core/dns';
import { parseInboxConfig, type InboxConfigInput } from '../../../core/inbox';
import { runOfSpooled } from '../../../core/intake/door';
import { createSmtpDoor } from '../../../core/smtp/door';
import { openStore, type StoreOptions } from '../../../core/store/open';
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS, type AttachedInbox } from '../../../core/smtp/listener';
import type { SpoolEntry } from '../../../core/store/types';
import type { Store } from '../../../core/store/roles';
import { pgClusterGate, PgCluster } from '../../support/pg-cluster';
import { describeEachStore, spooledRaw } from '../../support/stores';
import { compose, sign, testWorld } from '../../fixtures/mail';

const ADDRESS = 'support@inbox.example.test';

interface StoreOutage {
	/** The handle the intake under test writes to. */
	store: Store;
	/** Where the store is (the log may name it, the sender must not learn it). */
	location: string[];
	/** Takes the store away. */
	cut(): Promise<void>;
	/** Brings it back; the handle to use from then on. */
	restore(): Promise<Store>;
	close(): Promise<void>;
}

/**
 * A store to take away and bring back: the embedded file closed and reopened, or (PostgreSQL) a throwaway cluster of
 * the test's own, stopped as a crash would (pg_ctl stop -m immediate) and started again: the same handle reconnects.
 */
async function storeWithOutage(options: StoreOptions): Promise<StoreOutage> {
	if (options.engine === 'sqlite') {
		let store = await openStore(options);
		return {
			store,
			location: [options.path],
			cut: () => store.close(),
			restore: async () => (store = await openStore(options)),
			close: () => store.close(),
		};
	}
	const cluster = await PgCluster.create();
	try {
		const store = await openStore({ ...options, connectionString: cluster.url });
		return {
			store,
			location: [`127.0.0.1:${cluster.port}`, options.schema!],
			cut: () => cluster.stopImmediately(),
			restore: async () => (await cluster.start(), store),
			close: async () => {
				await store.close().catch(() => undefined);
				await cluster.destroy();
			},
		};
	} catch (error) {
		await cluster.destroy();
		throw error;
	}
}

describeEachStore('SMTP intake on the store', (getStore, engine, getOptions) => {
	let attached: AttachedInbox | undefined;
	afterEach(async () => {
		await attached?.detach();
		attached = undefined;
	});

	async function listen(store = getStore(), trust: Partial<InboxConfigInput> = {}, zone: Zone = {}, resolver: DnsResolver = zoneResolver(zone)) {
		const inbox = parseInboxConfig({ address: ADDRESS, ...trust });
		const { id: inboxId } = await store.registerInbox({ address: ADDRESS });
		const spooled: SpoolEntry[] = [];
		const troubles: Error[] = [];
		const receive = createSmtpDoor({
			store,
			inbox,
			inboxId,
			resolver,
			onSpooled: (entry) => spooled.push(entry),
			onTrouble: (error) => troubles.push(error),
		});
		attached = await attachHostedInbox({ ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port: 0 }, { address: ADDRESS, maxMessageBytes: inbox.maxMessageBytes, receive });
		return { inboxId, spooled, troubles, transport: createTransport({ host: '127.0.0.1', port: attached.port, ignoreTLS: true }) };
	}

	it('answers 250 only once the raw message is in the spool, with the real envelope', async () => {
		const store = getStore();
		const { inboxId, spooled, transport } = await listen();
		const info = await transport.sendMail({ from: 'a@customer.example', to: ADDRESS, subject: 'spooled', text: 'x', envelope: { from: 'bounce@customer.example', to: [ADDRESS] } });
		expect(spooled).toHaveLength(1);
		expect(info.response).toBe(`250 2.0.0 Queued as ${spooled[0].id}`);
		const [entry] = await store.spoolList({ inboxId, status: 'pending' });
		expect((await spooledRaw(store, entry.id)).toString()).toContain('Subject: spooled');
		expect(entry.envelope).toEqual({ clientIp: '127.0.0.1', helo: expect.any(String), mailFrom: 'bounce@customer.example', rcpt: [ADDRESS] });
	});

	it('decides once: a re-emission of a spooled message reuses the decision it was answered with, with no DNS lookup, whatever DNS says later', async () => {
		const store = getStore();
		const world = testWorld();
		let lookups = 0;
		let dnsDown = false;
		const answers = zoneResolver(world.zone);
		const resolver: DnsResolver = async (name, type) => {
			lookups++;
			if (dnsDown) throw Object.assign(new Error('DNS is down'), { code: 'ESERVFAIL' });
			return await answers(name, type);
		};
		const { inboxId, spooled, transport } = await listen(store, {}, {}, resolver);
		const raw = await sign(await compose({ from: 'Carol <carol@customer.test>', to: ADDRESS, subject: 'decided once', text: 'x' }), world.customer);
		await transport.sendMail({ envelope: { from: 'carol@customer.test', to: [ADDRESS] }, raw });
		expect(lookups).toBeGreaterThan(0);
		const entry = (await store.spoolGet(spooled[0].id))!;
		expect(entry.status).toBe('pending');
		expect(entry.decision).toMatchObject({ verdict: { action: 'accept' }, originalSender: { address: 'carol@customer.test', trusted: true } });

		dnsDown = true;
		const before = lookups;
		const again = await runOfSpooled(entry, spooledBytes(store, entry), parseInboxConfig({ address: ADDRESS }), resolver);
		expect(lookups).toBe(before);
		expect(again.result).toMatchObject({ ...entry.decision, message: { subject: 'decided once', from: { address: 'carol@customer.test' } } });
		// Only an entry spooled without a decision (before they were kept) goes through the checks again.
		const old = await store.spoolPut({ inboxId, message: bytesOf(raw), envelope: entry.envelope });
		expect((await runOfSpooled(old, spooledBytes(store, old), parseInboxConfig({ address: ADDRESS }), resolver)).result.verdict.flags).toContain('dns-error');
		expect(lookups).toBeGreaterThan(before);
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

	it('answers 451 4.7.0 with the reason when the checks outlast the intake deadline (a DNS server that never answers)', async () => {
		const store = getStore();
		const silentDns: DnsResolver = () => new Promise(() => {});
		const { inboxId, spooled, transport } = await listen(store, { intakeDeadlineSeconds: 0.5 }, {}, silentDns);
		const error = await transport.sendMail({ from: 'a@customer.example', to: ADDRESS, subject: 'slow dns', text: 'x', envelope: { from: 'a@customer.example', to: [ADDRESS] } }).catch((e: unknown) => e);
		expect(error).toMatchObject({ responseCode: 451, response: expect.stringMatching(/^451 4\.7\.0 the checks took longer than this inbox's intake deadline of 0\.5 s \(stopped in the authenticate stage\)/) });
		expect(spooled).toEqual([]);
		const [logged] = await store.listIntake({ inboxId, kind: 'deferred' });
		expect(logged.details.verdict).toMatchObject({ action: 'defer', smtpCode: 451, enhancedCode: '4.7.0', flags: expect.arrayContaining(['intake-deadline']) });
	});

	// PostgreSQL: a cluster of the test's own to stop (initdb and pg_ctl are needed; under CI=true their absence fails).
	const outageIt = engine === 'postgres' ? pgClusterGate().it : it;
	let outage: StoreOutage | undefined;
	afterAll(async () => {
		await outage?.close();
	});

	outageIt('answers a plain 451 4.3.0, never 250, when the store goes down mid-delivery; once it is back, the resent message is stored exactly once', async () => {
		outage = await storeWithOutage(getOptions());
		// The store goes away while the message is being decided (at its first DNS lookup), before its spool write.
		let cutting: Promise<void> | undefined;
		const answers = zoneResolver({});
		const resolver: DnsResolver = async (name, type) => {
			await (cutting ??= outage!.cut());
			return await answers(name, type);
		};
		const { troubles, spooled, transport } = await listen(outage.store, {}, {}, resolver);
		const mail = { from: 'a@customer.example', to: ADDRESS, subject: 'outage', text: 'x', messageId: '<outage-1@customer.example>' };
		const error = await transport.sendMail(mail).catch((e: unknown) => e);
		expect(cutting).toBeDefined();
		expect(error).toMatchObject({ responseCode: 451, response: '451 4.3.0 Temporary local problem, try again later' });
		expect(troubles).toHaveLength(1);
		// What the sender must not learn, and the log does: the database file, or the server and schema.
		for (const secret of outage.location) {
			expect(troubles[0].message).toContain(secret);
			expect((error as { response: string }).response).not.toContain(secret);
		}
		expect(spooled).toEqual([]);

		// Back again; the sender resends as an MTA does after a 4xx, until a 250.
		const store = await outage.restore();
		let receiver = { spooled, transport };
		if (store !== outage.store) {
			await attached?.detach();
			receiver = await listen(store, {}, {}, resolver);
		}
		let resends = 0;
		for (;;) {
			resends++;
			const refusal = await receiver.transport.sendMail(mail).then(
				() => null,
				(e: unknown) => e,
			);
			if (!refusal) break;
			expect(refusal).toMatchObject({ responseCode: 451 });
			expect(resends).toBeLessThan(20);
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
		const stored = [];
		for (const e of await store.spoolList()) if ((await spooledRaw(store, e.id)).includes('Message-ID: <outage-1@customer.example>')) stored.push(e);
		expect(stored).toHaveLength(1);
		expect(receiver.spooled.map((e) => e.id)).toEqual([stored[0].id]);
	});
});
