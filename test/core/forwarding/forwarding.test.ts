import { zoneResolver, type Zone } from '../../../core/dns';
import { settleForwardingTest } from '../../../core/forwarding/complete';
import { forwardingStatus } from '../../../core/forwarding/status';
import { composeForwardingTest } from '../../../core/forwarding/test-message';
import { newForwardingToken, tokenBelongsTo } from '../../../core/forwarding/token';
import { ForwardingTestNotSentError, verifyForwarding } from '../../../core/forwarding/verify';
import { parseInboxConfig } from '../../../core/inbox';
import { runChecks } from '../../../core/intake/pipeline';
import type { Envelope } from '../../../core/intake/types';
import { outputFor } from '../../../core/workflow-delivery/emission';
import type { SendRaw } from '../../../core/outbound/transport';
import { createImapDoor } from '../../../core/imap/door';
import { createSmtpDoor } from '../../../core/smtp/door';
import type { Store } from '../../../core/store/roles';
import { describeEachStore } from '../../support/stores';

const PUBLIC = 'support@company.test';
/** The company publishes SPF for its own servers and DMARC p=reject: forwarded mail without DKIM fails both. */
const STRICT_ZONE: Zone = {
	'company.test': { TXT: [['v=spf1 ip4:192.0.2.10 -all']] },
	'_dmarc.company.test': { TXT: [['v=DMARC1; p=reject']] },
};

/** What the Gmail-style forwarder puts on top of the test message, and its rewritten envelope. */
function forwarded(raw: Buffer, hosted: string): { raw: Buffer; envelope: Envelope } {
	const trace = [
		`X-Forwarded-To: ${hosted}`,
		`X-Forwarded-For: ${PUBLIC} ${hosted}`,
		'Received: by mx.company.test with SMTP id fwd1; Tue, 04 Mar 2025 10:00:05 +0000',
		`Received: from client.company.test ([192.0.2.10]) by mx.company.test with ESMTP id in1 for <${PUBLIC}>; Tue, 04 Mar 2025 10:00:01 +0000`,
		'',
	].join('\r\n');
	return {
		raw: Buffer.concat([Buffer.from(trace), raw]),
		envelope: { clientIp: '127.0.0.1', helo: 'mx.company.test', mailFrom: `support+caf_=${hosted.replace('@', '=')}@company.test`, rcpt: [hosted] },
	};
}

function recordingSender(): { send: SendRaw; sent: Array<{ raw: Buffer; envelope: { from: string; to: string[] } }> } {
	const sent: Array<{ raw: Buffer; envelope: { from: string; to: string[] } }> = [];
	return { sent, send: async (raw, envelope) => (sent.push({ raw, envelope }), { accepted: envelope.to, rejected: [], response: '250 2.0.0 queued' }) };
}

describe('forwarding check token', () => {
	it('is 32 random bytes plus an HMAC binding it to the inbox address', () => {
		const tokens = new Set(Array.from({ length: 200 }, () => newForwardingToken('a@inbox.example.test')));
		expect(tokens.size).toBe(200);
		const token = [...tokens][0];
		expect(token).toMatch(/^hiv1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
		expect(tokenBelongsTo(token, 'a@inbox.example.test')).toBe(true);
		expect(tokenBelongsTo(token, 'A@Inbox.Example.Test')).toBe(true);
		expect(tokenBelongsTo(token, 'b@inbox.example.test')).toBe(false);
		// A guessed token of the right shape carries no valid binding.
		expect(tokenBelongsTo(`hiv1.${'A'.repeat(43)}.${'B'.repeat(22)}`, 'a@inbox.example.test')).toBe(false);
		expect(tokenBelongsTo('not-a-token', 'a@inbox.example.test')).toBe(false);
	});
});

describe('forwarding test message', () => {
	it('carries its token, is marked automatic and ours, and the intake classifies it as a forwarding test without keeping the token', async () => {
		const token = newForwardingToken('support@inbox.example.test');
		const message = await composeForwardingTest({ publicAddress: PUBLIC, inboxAddress: 'support@inbox.example.test', token, deadline: new Date('2025-03-04T10:10:00Z') });
		const head = message.raw.toString('utf8').split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
		expect(head).toMatch(new RegExp(`^X-Hosted-Inbox-Verify: ${token.replace(/\./g, '\\.')}$`, 'mi'));
		expect(head).toMatch(/^Auto-Submitted: auto-generated$/im);
		expect(head).toMatch(/^X-Hosted-Inbox-Loop: support@inbox.example.test$/im);
		expect(message.envelope).toEqual({ from: PUBLIC, to: [PUBLIC] });
		const { result } = await runChecks(message.raw, { inbox: parseInboxConfig({ address: 'support@inbox.example.test' }), resolver: zoneResolver({}) });
		expect(result.kind).toBe('forwarding-test');
		expect(result.verification).toEqual({ provider: 'hosted-inbox', code: null, confirmUrl: null, requestedBy: PUBLIC });
		expect(JSON.stringify(result)).not.toContain(token.split('.')[1]);
	});

	it.each([
		['a token of another inbox', newForwardingToken('other@inbox.example.test')],
		['a forged token of the right shape', `hiv1.${'A'.repeat(43)}.${'B'.repeat(22)}`],
		['any other value', 'please-verify-me'],
	])('with %s is an ordinary message, flagged, never a forwarding test', async (_label, value) => {
		const message = await composeForwardingTest({ publicAddress: PUBLIC, inboxAddress: 'support@inbox.example.test', token: value, deadline: new Date() });
		const { result } = await runChecks(message.raw, { inbox: parseInboxConfig({ address: 'support@inbox.example.test' }), resolver: zoneResolver({}) });
		expect(result.kind).not.toBe('forwarding-test');
		expect(result.verification).toBeNull();
		expect(result.verdict.flags).toContain('forwarding-test-foreign');
		expect(outputFor(result)).toBe('message');
	});

	it('refuses an address that would inject headers', async () => {
		await expect(
			composeForwardingTest({ publicAddress: 'support@company.test\r\nBcc: x@evil.test', inboxAddress: 'a@b.test', token: 't', deadline: new Date() }),
		).rejects.toThrow(/line break/);
	});
});

describeEachStore('forwarding verification through the SMTP intake', (getStore) => {
	let n = 0;
	async function setup(zone: Zone = {}, timeoutMs = 60_000) {
		const store: Store = getStore();
		const hosted = `support-${++n}@inbox.example.test`;
		await store.registerInbox({ address: hosted });
		const inbox = parseInboxConfig({ address: hosted });
		const intake = createSmtpDoor({ store, inbox, inboxId: (await store.getInbox(hosted))!.id, resolver: zoneResolver(zone), onSpooled: () => undefined });
		const sender = recordingSender();
		const started = await verifyForwarding({ inbox: hosted, publicAddress: PUBLIC, timeoutMs }, { store, send: sender.send });
		return { store, hosted, intake, sender, started };
	}

	it('records the check as waiting, then the forwarded test verifies it with the path it took', async () => {
		const { store, hosted, intake, sender, started } = await setup();
		expect(started.check.status).toBe('waiting');
		expect(started.check).not.toHaveProperty('token');
		expect(sender.sent).toHaveLength(1);
		expect((await forwardingStatus(store, hosted))[0].status).toBe('waiting');

		const { raw, envelope } = forwarded(sender.sent[0].raw, hosted);
		const reply = await intake(raw, envelope);
		expect(reply.code).toBe(250);

		const [status] = await forwardingStatus(store, hosted);
		expect(status.status).toBe('verified');
		expect(status.check?.id).toBe(started.check.id);
		const evidence = status.check?.evidence as Record<string, any>;
		expect(evidence.forwardingSigns).toEqual([`Received by mx.company.test for ${PUBLIC}`, 'envelope sender rewritten by the forwarder (Gmail +caf_=)']);
		expect(evidence.forwarding).toEqual({
			xForwardedFor: [`${PUBLIC} ${hosted}`],
			xForwardedTo: [hosted],
			resentFrom: [],
			envelopeSender: envelope.mailFrom,
			envelopeRewrite: 'gmail-caf',
		});
		expect(evidence.received.map((hop: { by: string }) => hop.by)).toEqual(['mx.company.test', 'mx.company.test']);
		expect(evidence.received[1]).toMatchObject({ from: 'client.company.test', with: 'ESMTP', for: PUBLIC, at: '2025-03-04T10:00:01.000Z' });
		expect(evidence.auth.spf.result).toBeDefined();
		expect(evidence.client).toEqual({ ip: '127.0.0.1', helo: 'mx.company.test' });

		// The intake log keeps the test with its outcome (never as a conversation).
		const [logged] = await store.listIntake({ inboxId: status.inbox.id, kind: 'forwarding-test' });
		expect((logged.details.verification as Record<string, any>).check).toMatchObject({ outcome: 'verified', checkId: started.check.id });
		expect(await store.listConversations({ inboxId: status.inbox.id })).toEqual([]);
		// Our token is in no log entry and in no status: whoever reads them cannot replay it.
		const token = (await store.latestForwardingChecks(status.inbox.id))[0].token;
		expect(JSON.stringify(await store.listIntake({ inboxId: status.inbox.id }))).not.toContain(token.split('.')[1]);
		expect(JSON.stringify(await forwardingStatus(store, hosted))).not.toContain(token.split('.')[1]);
	});

	it('a test delivered straight to the hosted address, with no forwarding hop, fails "delivered directly, not forwarded"', async () => {
		const { store, hosted, intake, sender, started } = await setup();
		// The SMTP server hands the test to the hosted listener itself: the envelope as sent, no provider in between.
		const reply = await intake(sender.sent[0].raw, { clientIp: '127.0.0.1', helo: 'smtp.company.test', mailFrom: PUBLIC, rcpt: [hosted] });
		expect(reply.code).toBe(250);
		const [status] = await forwardingStatus(store, hosted);
		expect(status).toMatchObject({ status: 'failed', check: { id: started.check.id, verifiedAt: null } });
		expect(status.causes).toEqual([expect.objectContaining({ cause: 'delivered-directly', explanation: expect.stringMatching(/^Delivered directly, not forwarded/) })]);
		const [logged] = await store.listIntake({ inboxId: status.inbox.id, kind: 'forwarding-test' });
		expect((logged.details.verification as Record<string, any>).check).toMatchObject({ outcome: 'not-forwarded', checkId: started.check.id });
		// The same message forwarded afterwards finds the check closed.
		const later = forwarded(sender.sent[0].raw, hosted);
		await intake(later.raw, later.envelope);
		expect((await forwardingStatus(store, hosted))[0].status).toBe('failed');
	});

	it('refuses a public address that is the hosted address itself', async () => {
		const store = getStore();
		const hosted = `support-${++n}@inbox.example.test`;
		await store.registerInbox({ address: hosted });
		await expect(verifyForwarding({ inbox: hosted, publicAddress: hosted.toUpperCase() }, { store, send: recordingSender().send })).rejects.toThrow(/nothing would be forwarded/);
	});

	it('a replayed or forged token verifies nothing; another inbox\'s token is not a forwarding test here', async () => {
		const { store, hosted, intake, sender } = await setup();
		const real = forwarded(sender.sent[0].raw, hosted);
		await intake(real.raw, real.envelope);
		const settle = async (raw: Buffer, envelope: Envelope) => {
			const outcome = await runChecks(raw, { inbox: parseInboxConfig({ address: hosted }), envelope, resolver: zoneResolver({}) });
			return await settleForwardingTest(store, (await store.getInbox(hosted))!.id, { ...outcome, receivedAt: new Date().toISOString() });
		};
		expect(await settle(real.raw, real.envelope)).toMatchObject({ outcome: 'already-verified' });

		// A new waiting check; a forged message with a token bound to this inbox but never issued (anyone can mint
		// one: the binding is keyed by the token's own nonce) is an ordinary message, never a forwarding test.
		const second = await verifyForwarding({ inbox: hosted, publicAddress: PUBLIC }, { store, send: sender.send });
		const forged = await composeForwardingTest({ publicAddress: PUBLIC, inboxAddress: hosted, token: newForwardingToken(hosted), deadline: new Date() });
		const outcome = await runChecks(forwarded(forged.raw, hosted).raw, { inbox: parseInboxConfig({ address: hosted }), envelope: real.envelope, resolver: zoneResolver({}) });
		expect(await settleForwardingTest(store, (await store.getInbox(hosted))!.id, { ...outcome, receivedAt: new Date().toISOString() })).toBeNull();
		expect(outcome.result).toMatchObject({ kind: 'message', verification: null, verdict: { flags: expect.arrayContaining(['forwarding-test-foreign']) } });
		expect(outputFor(outcome.result)).toBe('message');
		// The real token of another inbox's check.
		const other = await setup();
		const foreign = forwarded(other.sender.sent[0].raw, hosted);
		expect(await settle(foreign.raw, foreign.envelope)).toBeNull();
		expect((await forwardingStatus(store, other.hosted))[0].status).toBe('waiting');
		const [status] = await forwardingStatus(store, hosted);
		expect(status).toMatchObject({ status: 'waiting', check: { id: second.check.id } });
	});

	it('fails after its deadline with the likely causes, pointing to a provider confirmation in the intake log', async () => {
		const { store, hosted, intake } = await setup({}, 300);
		const inboxId = (await store.getInbox(hosted))!.id;
		const confirmation = [
			'From: Gmail Team <forwarding-noreply@google.com>',
			`To: ${hosted}`,
			`Subject: (#482913576) Gmail Forwarding Confirmation - Receive Mail from ${PUBLIC}`,
			'Message-ID: <confirm-1@google.com>',
			'',
			`${PUBLIC} has requested to automatically forward mail to your email address ${hosted}.`,
			'Confirmation code: 482913576',
			'https://mail-settings.google.com/mail/vf-%5BANGjdJ9x%5D-AbCd',
			'',
		].join('\r\n');
		expect((await intake(Buffer.from(confirmation), { clientIp: '127.0.0.1', helo: 'mail.google.com', mailFrom: 'forwarding-noreply@google.com', rcpt: [hosted] })).code).toBe(250);
		await new Promise((resolve) => setTimeout(resolve, 400));
		const [status] = await forwardingStatus(store, hosted);
		expect(status.status).toBe('failed');
		expect(status.causes.map((c) => c.cause)).toEqual(['provider-confirmation-pending', 'no-forwarding-rule', 'external-forwarding-blocked']);
		expect(status.causes[0].evidence).toEqual([expect.objectContaining({ provider: 'google', code: '482913576', requestedBy: PUBLIC })]);
		expect(status.causes[2].explanation).toMatch(/550 5\.7\.520/);
		// Whoever asks reads it failed: the store's own listing too.
		expect((await store.latestForwardingChecks(inboxId))[0].status).toBe('failed');
	});

	it('a test refused by our own security checks stays unverified and is named as the cause', async () => {
		const { store, hosted, intake, sender } = await setup(STRICT_ZONE, 400);
		const { raw, envelope } = forwarded(sender.sent[0].raw, hosted);
		const reply = await intake(raw, envelope);
		expect(reply.code).toBe(550);
		expect((await forwardingStatus(store, hosted))[0].status).toBe('waiting');
		await new Promise((resolve) => setTimeout(resolve, 500));
		const [status] = await forwardingStatus(store, hosted);
		expect(status.status).toBe('failed');
		expect(status.causes).toHaveLength(1);
		expect(status.causes[0]).toMatchObject({ cause: 'rejected-by-security-checks', evidence: [expect.objectContaining({ kind: 'rejected', clientIp: '127.0.0.1' })] });
		expect(status.causes[0].explanation).toMatch(/dmarc=fail \(p=reject\)/);
	});

	it('a Microsoft 365 bounce of the test (550 5.7.520) reaching the hosted address names the external-forwarding block', async () => {
		const { store, hosted, intake, sender } = await setup({}, 400);
		const original = sender.sent[0].raw.toString('utf8').split('\r\n\r\n')[0];
		const boundary = 'ndr-boundary';
		const ndr = [
			'From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@company.test>',
			`To: ${hosted}`,
			'Subject: Undeliverable: Forwarding check',
			'Message-ID: <ndr-1@company.test>',
			'Auto-Submitted: auto-replied',
			`Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
			'',
			`--${boundary}`,
			'Content-Type: text/plain; charset=us-ascii',
			'',
			"Your message to support@company.test couldn't be delivered. Your organization does not allow external forwarding.",
			'',
			`--${boundary}`,
			'Content-Type: message/delivery-status',
			'',
			'Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.com',
			'',
			`Final-Recipient: rfc822;${hosted}`,
			'Action: failed',
			'Status: 5.7.520',
			'Diagnostic-Code: smtp;550 5.7.520 Access denied, Your organization does not allow',
			' external forwarding. Please contact your administrator for further assistance.',
			'',
			`--${boundary}`,
			'Content-Type: text/rfc822-headers',
			'',
			original,
			'',
			`--${boundary}--`,
			'',
		].join('\r\n');
		expect((await intake(Buffer.from(ndr), { clientIp: '127.0.0.1', helo: 'outlook.test', mailFrom: '', rcpt: [hosted] })).code).toBe(250);
		await new Promise((resolve) => setTimeout(resolve, 500));
		const [status] = await forwardingStatus(store, hosted);
		expect(status.status).toBe('failed');
		expect(status.causes).toEqual([
			expect.objectContaining({ cause: 'external-forwarding-blocked', evidence: [expect.objectContaining({ status: '5.7.520', diagnostic: expect.stringMatching(/^550 5\.7\.520 Access denied, .* external forwarding\./) })] }),
		]);
		expect(JSON.stringify(status)).not.toMatch(/hiv1\./);
	});

	it('IMAP mode completes the check the same way', async () => {
		const { store, hosted, sender } = await setup();
		const inboxId = (await store.getInbox(hosted))!.id;
		const takeIn = createImapDoor({ store, inbox: parseInboxConfig({ address: hosted }), inboxId, resolver: zoneResolver({}) });
		const { raw } = forwarded(sender.sent[0].raw, hosted);
		const outcome = await takeIn({ mailbox: 'INBOX', uidValidity: '1', uid: 7, raw, size: raw.length, messageId: null, from: null, internalDate: new Date().toISOString(), attempt: 1 });
		expect(outcome).toMatchObject({ action: 'emit', run: { result: { kind: 'forwarding-test', verification: { check: { outcome: 'verified' } } } } });
		const [status] = await forwardingStatus(store, hosted);
		expect(status).toMatchObject({
			status: 'verified',
			check: { evidence: { forwardingSigns: [`Received by mx.company.test for ${PUBLIC}`], forwarding: { envelopeRewrite: 'none', xForwardedFor: [`${PUBLIC} ${hosted}`] } } },
		});
	});

	it('a test message the SMTP server refused fails the check at once, saying so', async () => {
		const store = getStore();
		const hosted = `support-${++n}@inbox.example.test`;
		await store.registerInbox({ address: hosted });
		const refusing: SendRaw = async () => {
			throw new Error('550 5.7.1 Sender address rejected');
		};
		await expect(verifyForwarding({ inbox: hosted, publicAddress: PUBLIC }, { store, send: refusing })).rejects.toThrow(ForwardingTestNotSentError);
		const [status] = await forwardingStatus(store, hosted);
		expect(status.status).toBe('failed');
		expect(status.causes).toEqual([expect.objectContaining({ cause: 'test-not-sent', explanation: expect.stringMatching(/Sender address rejected/) })]);
	});

	it('lists every inbox, unknown when never checked, and names an unknown inbox', async () => {
		const store = getStore();
		await store.registerInbox({ address: 'never-checked@inbox.example.test' });
		const all = await forwardingStatus(store);
		expect(all.find((s) => s.inbox.address === 'never-checked@inbox.example.test')).toMatchObject({ status: 'unknown', check: null });
		await expect(forwardingStatus(store, 'nobody@inbox.example.test')).rejects.toThrow(/Unknown inbox "nobody@inbox.example.test"/);
		await expect(verifyForwarding({ inbox: 'nobody@inbox.example.test', publicAddress: PUBLIC }, { store, send: recordingSender().send })).rejects.toThrow(/Unknown inbox/);
	});
});
