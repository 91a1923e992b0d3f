import { dkimVerify } from 'mailauth';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { createTransport } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { resolveOriginalSender, type ResolvedPart } from '../../../core/conversation/resolve';
import { zoneResolver, type Zone } from '../../../core/dns';
import { parseInboxConfig } from '../../../core/inbox';
import { buildIntakeEmission } from '../../../core/workflow-delivery/emission';
import { runChecks } from '../../../core/intake/pipeline';
import type { DecidedMessage } from '../../../core/intake/types';
import type { IntakeItem } from '../../../core/item';
import { answeredMessageOf, type AnsweredMessage } from '../../../core/outbound/automatic';
import { OutboundError } from '../../../core/outbound/errors';
import { sendTeamEmail, type TeamEmailRequest } from '../../../core/outbound/send';
import { smtpSender } from '../../../core/outbound/transport';
import { createSmtpDoor } from '../../../core/smtp/door';
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS } from '../../../core/smtp/listener';
import { generateDkimKeyPair } from '../../../core/sending-domain/keys';
import { sendingDomainRecords } from '../../../core/sending-domain/records';
import type { Store } from '../../../core/store/roles';
import { CORPUS, corpus, intakeItem } from '../../support/items';
import { describeEachStore } from '../../support/stores';
import { startSmtpSink, type SmtpSink } from './smtp-sink';

let sink: SmtpSink;
let sender: ReturnType<typeof smtpSender>;

beforeAll(async () => {
	sink = await startSmtpSink();
	sender = smtpSender(sink.settings);
});
afterAll(async () => {
	sender.close();
	await sink.close();
});

const SIGNATURE = '<p>Best,<br>{{first_name}}</p><p><b>{{full_name}}</b>, Acme Support</p>';
const keys = generateDkimKeyPair();

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
	return (Array.isArray(value) ? value : value ? [value] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));
}

async function lastReceived(): Promise<{ mail: ParsedMail; raw: Buffer; rcptTo: string[]; mailFrom: string }> {
	const last = sink.received.at(-1)!;
	return { mail: await simpleParser(last.raw), raw: last.raw, rcptTo: last.rcptTo, mailFrom: last.mailFrom };
}

const inboxConfig = (inbox: string) => parseInboxConfig({ address: inbox, internalDomains: ['company.test'], trustedArcSealers: ['google.com'] });
const itemOf = ({ result, content }: Pick<DecidedMessage, 'result' | 'content'>, inbox: string) =>
	buildIntakeEmission(result, content, { inboxAddress: inbox, via: 'smtp', receivedAt: new Date().toISOString() }).item;

/** Raw bytes through the real intake (offline DNS, no records) into the item the trigger would emit. */
async function intakeOf(raw: Buffer, inbox: string, mailFrom: string): Promise<IntakeItem> {
	return itemOf(await runChecks(raw, { inbox: inboxConfig(inbox), resolver: zoneResolver({}), envelope: { clientIp: '192.0.2.25', helo: 'mail.example.com', mailFrom, rcpt: [inbox] } }), inbox);
}

async function resolved(store: Store, item: IntakeItem): Promise<ResolvedPart> {
	const outcome = await resolveOriginalSender(store, item);
	if (outcome.status !== 'resolved') throw new Error(outcome.reason);
	return outcome.part;
}

describeEachStore('Send Team Email (core) through a real SMTP server', (getStore) => {
	// Distinct per engine: both engines' blocks share the one SMTP sink, never a store.
	const tag = Math.random().toString(36).slice(2, 8);
	const inbox = `support.${tag}@inbox.example.test`;
	let store: Store;
	let agentEmail: string;

	const deps = (extra: Partial<Parameters<typeof sendTeamEmail>[1]> = {}) => ({ store, send: sender.send, ...extra });
	const request = (patch: Partial<TeamEmailRequest>): TeamEmailRequest => ({
		inboxAddress: inbox,
		agent: agentEmail,
		fromName: { style: 'agentAndCompany', companyName: `Acme Support ${inbox}` },
		body: { text: 'Thanks for writing, we are on it.' },
		signature: SIGNATURE,
		...patch,
	});

	/** A customer email as the intake hands it on, filed in its conversation. */
	async function incoming(from: string, subject: string, messageId: string): Promise<string> {
		const outcome = await resolveOriginalSender(store, intakeItem({ inbox, from, fromName: 'Jane Doe', subject, messageId }));
		if (outcome.status !== 'resolved') throw new Error(outcome.reason);
		return outcome.part.conversation.id;
	}

	beforeAll(async () => {
		store = getStore();
		await store.registerInbox({ address: inbox });
		agentEmail = `ana.${tag}@acme.test`;
		await store.createAgent({ email: agentEmail, firstName: 'Ana', fullName: 'Ana Lopez' });
	});

	it('replies with the agent-and-company from-name, the hosted address, the filled signature and threading headers', async () => {
		const conversationId = await incoming('jane@example.com', 'RE: Fwd: Order 42 is late', `orig-42.${tag}@example.com`);
		const sent = await sendTeamEmail(request({ conversationId }), deps());
		const { mail, rcptTo, mailFrom } = await lastReceived();

		expect(mail.from?.value).toEqual([{ name: `Ana Lopez at Acme Support ${inbox}`, address: inbox }]);
		expect(addresses(mail.to)).toEqual(['jane@example.com']);
		expect(rcptTo).toEqual(['jane@example.com']);
		expect(mailFrom).toBe(inbox);
		expect(mail.subject).toBe('Re: Order 42 is late');
		expect(mail.inReplyTo).toBe(`<orig-42.${tag}@example.com>`);
		expect(mail.references).toBe(`<orig-42.${tag}@example.com>`);
		expect(mail.messageId).toBe(`<${sent.messageId}>`);
		expect(mail.messageId).toMatch(/^<hosted-inbox\.[0-9a-f-]+@inbox\.example\.test>$/);
		expect(mail.headers.get('x-hosted-inbox-loop')).toBe(inbox);
		expect(mail.headers.has('auto-submitted')).toBe(false);
		expect(mail.text).toBe('Thanks for writing, we are on it.\n\n-- \nBest,\nAna\n\nAna Lopez, Acme Support');
		expect(mail.html).toContain('<p>Best,<br>Ana</p><p><b>Ana Lopez</b>, Acme Support</p>');
		expect(mail.html).not.toContain('{{');

		const messages = await store.listMessages(conversationId);
		expect(messages.map((m) => m.direction)).toEqual(['in', 'out']);
		expect(messages[1]).toMatchObject({ messageId: sent.messageId, senderAgentId: sent.agent.id, from: inbox, to: ['jane@example.com'], inReplyTo: [`orig-42.${tag}@example.com`] });
		expect((await store.getInbox(inbox))?.fromName).toBe(`<agent> at Acme Support ${inbox}`);
	});

	it('sends with the company-name from-name', async () => {
		const conversationId = await incoming('bob@example.com', 'Invoice', `inv.${tag}@example.com`);
		await sendTeamEmail(request({ conversationId, fromName: { style: 'company', companyName: `Acme Support ${inbox}` } }), deps());
		const { mail } = await lastReceived();
		expect(mail.from?.value).toEqual([{ name: `Acme Support ${inbox}`, address: inbox }]);
		expect(mail.subject).toBe('Re: Invoice');
	});

	it("threads the customer's reply (built with our headers) back into the same conversation", async () => {
		const conversationId = await incoming('carla@example.com', 'Broken login', `login.${tag}@example.com`);
		const sent = await sendTeamEmail(request({ conversationId }), deps());
		const { mail } = await lastReceived();
		// The customer's client answers our message: In-Reply-To our id, References our references plus our id.
		const reply = await new Promise<Buffer>((resolve, reject) =>
			new MailComposer({
				from: 'Carla <carla@example.com>',
				to: inbox,
				subject: `Re: ${mail.subject}`,
				text: 'Still broken.',
				messageId: `<carla-2.${tag}@example.com>`,
				inReplyTo: mail.messageId,
				references: [mail.references as string, mail.messageId as string],
			})
				.compile()
				.build((e, b) => (e ? reject(e) : resolve(b))),
		);
		const part = await resolved(store, await intakeOf(reply, inbox, 'carla@example.com'));
		expect(part.conversation).toMatchObject({ id: conversationId, isNew: false });
		expect(part.contact.email).toBe('carla@example.com');
		const messages = await store.listMessages(conversationId);
		expect(messages.map((m) => [m.direction, m.messageId])).toEqual([
			['in', `login.${tag}@example.com`],
			['out', sent.messageId],
			['in', `carla-2.${tag}@example.com`],
		]);
	});

	it('recognises our own reply sent back through the listener (a forwarding loop) and never answers it automatically', async () => {
		const conversationId = await incoming('hal@example.com', 'Loop', `loop.${tag}@example.com`);
		await sendTeamEmail(request({ conversationId }), deps());
		const { raw } = await lastReceived();
		// The customer's mailbox forwards everything back to the hosted address, through the real SMTP listener.
		const runs: DecidedMessage[] = [];
		const { id: inboxId } = await store.registerInbox({ address: inbox });
		const receive = createSmtpDoor({ store, inbox: inboxConfig(inbox), inboxId, resolver: zoneResolver({}), onSpooled: (_entry, run) => runs.push(run) });
		const listener = await attachHostedInbox({ ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port: 0 }, { address: inbox, maxMessageBytes: 1024 * 1024, receive });
		try {
			const sent = await createTransport({ host: '127.0.0.1', port: listener.port, ignoreTLS: true }).sendMail({ envelope: { from: 'hal@example.com', to: [inbox] }, raw });
			expect(sent.response).toMatch(/^250 2\.0\.0 /);
		} finally {
			await listener.detach();
		}
		const item = itemOf(runs[0], inbox);
		expect(item.verdict.flags).toEqual(expect.arrayContaining(['loop', 'own-mail']));
		const part = await resolved(store, item);
		expect(part.replay).toBe(true);
		expect(part.conversation.id).toBe(conversationId);
		const answering = answeredMessageOf({ ...item, ...part })!;
		await expect(sendTeamEmail(request({ conversationId, automatic: true, answering }), deps())).rejects.toMatchObject({ message: expect.stringContaining('our own mail coming back') });
	});

	it('sends only from an inbox a trigger registered: an address in the Inbox field is not a From of its own, and a refused send registers nothing', async () => {
		const count = sink.received.length;
		const conversationId = await incoming('hal.typo@example.com', 'Typo', `typo.${tag}@example.com`);
		for (const inboxAddress of [`ceo.${tag}@bank.example`, `supprot.${tag}@inbox.example.test`]) {
			for (const call of [{ newConversation: { contactEmail: 'victim@example.org', subject: 'Wire transfer today' } }, { conversationId }]) {
				await expect(sendTeamEmail(request({ inboxAddress, ...call }), deps())).rejects.toMatchObject({ refusal: 'missing-inbox', message: expect.stringContaining(`${inboxAddress} is not a hosted inbox`) });
			}
			expect(await store.getInbox(inboxAddress)).toBeNull();
		}
		expect(sink.received.length).toBe(count);
		// A reply into the conversation through another registered inbox is refused before that inbox takes the from-name.
		const sales = `sales-typo.${tag}@inbox.example.test`;
		await store.registerInbox({ address: sales });
		const fromName = { style: 'company' as const, companyName: `Typo Support ${tag}` };
		await expect(sendTeamEmail(request({ inboxAddress: sales, conversationId, fromName }), deps())).rejects.toMatchObject({ refusal: 'missing-conversation' });
		expect((await store.getInbox(sales))?.fromName).toBeNull();
		expect(sink.received.length).toBe(count);
	});

	it('sends nothing in the name of a deactivated agent', async () => {
		const conversationId = await incoming('ivy@example.com', 'Leaver', `leaver.${tag}@example.com`);
		const leaver = await store.createAgent({ email: `leaver.${tag}@company.test`, firstName: 'Lee', fullName: 'Lee Ver' });
		await store.updateAgent(leaver.id, { active: false });
		const count = sink.received.length;
		await expect(sendTeamEmail(request({ conversationId, agent: leaver.email }), deps())).rejects.toMatchObject({ refusal: 'missing-agent', message: expect.stringContaining('is deactivated') });
		expect(sink.received.length).toBe(count);
	});

	it('refuses a from-name held by another inbox, naming it, and sends nothing', async () => {
		const other = `sales.${tag}@inbox.example.test`;
		await store.registerInbox({ address: other });
		const count = sink.received.length;
		const error = await sendTeamEmail(request({ inboxAddress: other, newConversation: { contactEmail: 'x@example.com', subject: 'Hi' } }), deps()).catch((e: Error) => e);
		expect(error).toBeInstanceOf(OutboundError);
		expect((error as OutboundError).refusal).toBe('from-name-taken');
		expect((error as Error).message).toContain(`already used by the inbox ${inbox}`);
		expect(sink.received.length).toBe(count);
	});

	it('refuses an unknown signature token and a line break in a name before anything is sent or stored', async () => {
		const conversationId = await incoming('dan@example.com', 'Tokens', `tokens.${tag}@example.com`);
		const count = sink.received.length;
		await expect(sendTeamEmail(request({ conversationId, signature: 'Regards, {{agent_name}}' }), deps())).rejects.toMatchObject({ refusal: 'unknown-signature-token', message: expect.stringContaining('{{agent_name}}') });
		await expect(sendTeamEmail(request({ conversationId, fromName: { style: 'company', companyName: 'Acme\r\nBcc: all@example.com' } }), deps())).rejects.toMatchObject({ refusal: 'invalid-header' });
		await expect(sendTeamEmail(request({ conversationId, cc: ['boss@example.com\nBcc: x@example.com'] }), deps())).rejects.toMatchObject({ refusal: 'invalid-header' });
		expect(sink.received.length).toBe(count);
		expect((await store.listMessages(conversationId)).map((m) => m.direction)).toEqual(['in']);
	});

	it('replies in a conversation whose stored subject and contact name hold CR/LF (stored before the intake folded them), folded to spaces', async () => {
		const outcome = await resolveOriginalSender(store, intakeItem({ inbox, from: 'gus@example.com', fromName: 'Gus\r\nBcc: all@example.com', subject: 'Order 7\r\nBcc: all@example.com', messageId: `crlf.${tag}@example.com` }));
		if (outcome.status !== 'resolved') throw new Error(outcome.reason);
		expect(outcome.part.conversation.subject).toBe('Order 7\r\nBcc: all@example.com');
		const sent = await sendTeamEmail(request({ conversationId: outcome.part.conversation.id }), deps());
		const { mail, raw, rcptTo } = await lastReceived();
		expect(sent.subject).toBe('Re: Order 7  Bcc: all@example.com');
		expect(mail.subject).toBe('Re: Order 7  Bcc: all@example.com');
		expect((mail.to as AddressObject).value).toEqual([{ address: 'gus@example.com', name: 'Gus  Bcc: all@example.com' }]);
		expect(rcptTo).toEqual(['gus@example.com']);
		expect(mail.headers.has('bcc')).toBe(false);
		expect(raw.toString('latin1')).not.toMatch(/^Bcc:/im);
	});

	it('replies to a customer whose encoded subject and display name decode to CR/LF, through the real intake', async () => {
		const b64 = (text: string) => `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;
		const raw = Buffer.from(
			`From: ${b64('Hana\r\nBcc: all@example.com')} <hana@example.com>\r\nTo: ${inbox}\r\nSubject: ${b64('Refund\r\nBcc: all@example.com')}\r\nMessage-ID: <enc.${tag}@example.com>\r\n\r\nPlease refund.\r\n`,
		);
		const item = await intakeOf(raw, inbox, 'hana@example.com');
		expect(item.verdict.flags).toContain('control-characters-folded');
		expect(item.email.subject).toBe('Refund  Bcc: all@example.com');
		const part = await resolved(store, item);
		expect(part.contact.name).toBe('Hana  Bcc: all@example.com');
		await sendTeamEmail(request({ conversationId: part.conversation.id }), deps());
		const { mail } = await lastReceived();
		expect(mail.subject).toBe('Re: Refund  Bcc: all@example.com');
		expect(mail.headers.has('bcc')).toBe(false);
	});

	it('refuses an automatic reply to an auto-reply, and marks an automatic acknowledgement Auto-Submitted', async () => {
		const conversationId = await incoming('eve@example.com', 'Out of office', `ooo.${tag}@example.com`);
		const count = sink.received.length;
		const answering: AnsweredMessage = { kind: 'auto-reply', action: 'accept', mailFrom: 'eve@example.com', flags: [], originalSender: { address: 'eve@example.com', method: 'from-header', trusted: true }, auth: null };
		await expect(sendTeamEmail(request({ conversationId, automatic: true, answering }), deps())).rejects.toMatchObject({
			refusal: 'automatic-reply-refused',
			message: 'Automatic message not sent: it is an automatic reply (out of office, vacation or another auto-responder)',
		});
		expect(sink.received.length).toBe(count);

		await sendTeamEmail(request({ conversationId, automatic: true, answering: { ...answering, kind: 'message' } }), deps());
		const { mail } = await lastReceived();
		expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
		expect(mail.headers.get('x-auto-response-suppress')).toBe('All');
		// A manual reply by an agent in the same conversation is always allowed.
		await sendTeamEmail(request({ conversationId }), deps());
		expect(sink.received.length).toBe(count + 2);
	});

	corpus.it('replies to the original poster of a Google Group conversation, never to the group', async () => {
		// chatwoot's fixture: From "ACME group <acme_group@example.com>", X-Original-Sender: jane@example.com.
		const group = 'acme_group@example.com';
		const item = await intakeOf(readFileSync(join(CORPUS, 'chatwoot/group_sender_support.eml')), inbox, group);
		expect(item.originalSender).toMatchObject({ address: 'jane@example.com', method: 'list-rewrite' });
		const conversationId = (await resolved(store, item)).conversation.id;

		const answering = answeredMessageOf(item)!;
		await expect(sendTeamEmail(request({ conversationId, automatic: true, answering }), deps())).rejects.toMatchObject({ message: expect.stringContaining('list mail') });

		await sendTeamEmail(request({ conversationId }), deps());
		const { mail, rcptTo } = await lastReceived();
		expect(addresses(mail.to)).toEqual(['jane@example.com']);
		expect(rcptTo).toEqual(['jane@example.com']);
		expect(mail.inReplyTo).toBe('<0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com>');
		expect(mail.references).toEqual(['<4e6e35f5a38b4_479f13bb90078178@small-app-01.mail>', '<0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com>']);
		expect(mail.subject).toBe("Re: Discussion: Let's debate these attachments");

		// Only when the user adds the group does it get a copy.
		await sendTeamEmail(request({ conversationId, cc: [group] }), deps());
		expect((await lastReceived()).rcptTo).toEqual(['jane@example.com', group]);
	});

	it('starts a new conversation with a contact', async () => {
		const sent = await sendTeamEmail(request({ newConversation: { contactEmail: 'fay@example.com', contactName: 'Fay', subject: 'Your renewal' } }), deps());
		const { mail } = await lastReceived();
		expect(mail.subject).toBe('Your renewal');
		expect(mail.inReplyTo).toBeUndefined();
		expect(mail.to && !Array.isArray(mail.to) && mail.to.value).toEqual([{ name: 'Fay', address: 'fay@example.com' }]);
		expect(sent.conversation.contactId).toBe(sent.contact.id);
		expect((await store.listMessages(sent.conversation.id)).map((m) => m.direction)).toEqual(['out']);
	});

	describe('custom from-address on a sending domain', () => {
		const domain = `d${Math.random().toString(36).slice(2, 8)}.acme.test`;
		const zone: Zone = {};
		// Looked up afresh each time: the test publishes records into the zone as it goes.
		const resolver = (name: string, rrtype: string) => zoneResolver(zone)(name, rrtype);
		const signingKey = { domain, selector: 'hi1', privateKey: keys.privateKey };

		it('refuses a domain that was never connected', async () => {
			const conversationId = await incoming('gil@example.com', 'Custom 1', `custom1.${tag}@example.com`);
			await expect(sendTeamEmail(request({ conversationId, fromAddress: `help@${domain}` }), deps({ signingKey, resolver }))).rejects.toMatchObject({
				refusal: 'unverified-sending-domain',
				message: expect.stringContaining(`${domain} is not a connected sending domain`),
			});
		});

		it('refuses while the DKIM record is not published, naming it', async () => {
			await store.upsertSendingDomain({ domain, selector: 'hi1', publicKey: keys.publicKey });
			const conversationId = await incoming('gil@example.com', 'Custom 2', `custom2.${tag}@example.com`);
			const count = sink.received.length;
			const error = (await sendTeamEmail(request({ conversationId, fromAddress: `help@${domain}` }), deps({ signingKey, resolver })).catch((e: Error) => e)) as OutboundError;
			expect(error.refusal).toBe('unverified-sending-domain');
			expect(error.message).toContain(`DKIM record missing (no DKIM key (TXT "v=DKIM1; ...") at hi1._domainkey.${domain}`);
			expect(sink.received.length).toBe(count);
			expect((await store.getSendingDomain(domain))?.verified).toBe(false);
		});

		it('sends from the custom address once the records are published, DKIM-signed so that mailauth verifies it', async () => {
			for (const r of sendingDomainRecords({ domain, selector: 'hi1', publicKey: keys.publicKey })) zone[r.name] = { TXT: [r.strings] };
			const conversationId = await incoming('gil@example.com', 'Custom 3', `custom3.${tag}@example.com`);
			const sent = await sendTeamEmail(request({ conversationId, fromAddress: `help@${domain}` }), deps({ signingKey, resolver }));
			const { mail, raw, mailFrom } = await lastReceived();
			expect(mail.from?.value).toEqual([{ name: `Ana Lopez at Acme Support ${inbox}`, address: `help@${domain}` }]);
			expect(mailFrom).toBe(`help@${domain}`);
			// The loop marker names the From, not the hosted address the custom domain's mailbox forwards to.
			expect(mail.headers.get('x-hosted-inbox-loop')).toBe(`help@${domain}`);
			expect(mail.messageId).toMatch(new RegExp(`@${domain.replace(/\./g, '\\.')}>$`));
			expect(sent.dkim).toEqual({ domain, selector: 'hi1' });
			expect((await store.getSendingDomain(domain))?.verified).toBe(true);

			const verification = await dkimVerify(raw, { resolver });
			expect(verification.results.map((r) => [r.signingDomain, r.selector, r.status.result, r.status.aligned])).toEqual([[domain, 'hi1', 'pass', domain]]);
		});

		it('refuses a credential whose key is not the published one', async () => {
			const conversationId = await incoming('gil@example.com', 'Custom 4', `custom4.${tag}@example.com`);
			const wrong = { ...signingKey, privateKey: generateDkimKeyPair().privateKey };
			await expect(sendTeamEmail(request({ conversationId, fromAddress: `help@${domain}` }), deps({ signingKey: wrong, resolver }))).rejects.toMatchObject({ refusal: 'sending-key-mismatch' });
		});
	});
});
