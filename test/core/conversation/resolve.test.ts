import { bytesOf } from '../../../core/message-bytes';
import { MAX_CC_CONTACTS, resolveOriginalSender, type ResolvedPart, type ResolveOptions } from '../../../core/conversation/resolve';
import { zoneResolver } from '../../../core/dns';
import { parseInboxConfig } from '../../../core/inbox';
import { buildIntakeEmission } from '../../../core/workflow-delivery/emission';
import { runChecks } from '../../../core/intake/pipeline';
import type { IntakeItem } from '../../../core/item';
import type { Store } from '../../../core/store/roles';
import { googleGroupsItem, intakeItem, manualForwardItem } from '../../support/items';
import { describeEachStore } from '../../support/stores';

describeEachStore('resolveOriginalSender', (getStore) => {
	let n = 0;
	/** A new inbox, registered as its trigger registers it. */
	async function inbox(store: Store) {
		n += 1;
		return (await store.registerInbox({ address: `resolve${n}@inbox.hosted.test` })).address;
	}
	async function resolved(store: Store, item: IntakeItem, options: Partial<ResolveOptions> = {}): Promise<ResolvedPart> {
		const outcome = await resolveOriginalSender(store, item, options);
		if (outcome.status !== 'resolved') throw new Error(`expected resolved, got ${outcome.status}: ${outcome.reason}`);
		return outcome.part;
	}

	it('files a Google Groups message under the original poster, not the group', async () => {
		const store = getStore();
		const part = await resolved(store, googleGroupsItem('jane@example.com', 'acme_group@googlegroups.com', true, { inbox: await inbox(store) }));
		expect(part.contact).toMatchObject({ email: 'jane@example.com', created: true, flagged: false });
		expect(part.conversation).toMatchObject({ isNew: true, reopened: false, status: 'open' });
		expect(part.replay).toBe(false);
		const [message] = await store.listMessages(part.conversation.id);
		expect(message).toMatchObject({ from: 'acme_group@googlegroups.com', originalSenderMethod: 'list-rewrite', authSummary: 'spf=pass dkim=pass dmarc=pass arc=none' });
	});

	it("names a manual forward's conversation by the forwarded message's subject; the message keeps its own", async () => {
		const store = getStore();
		const item = manualForwardItem('author@customer.test', 'ana@company.test', { inbox: await inbox(store), subject: 'Fwd: Question about invoice 77' });
		const part = await resolved(store, { ...item, originalSender: { ...item.originalSender, subject: 'Question about invoice 77' } });
		expect(part.conversation.subject).toBe('Question about invoice 77');
		const [message] = await store.listMessages(part.conversation.id);
		expect(message.subject).toBe('Fwd: Question about invoice 77');
	});

	it('refuses a forwarding confirmation or test wired into it, recording nothing', async () => {
		const store = getStore();
		const address = await inbox(store);
		for (const kind of ['forwarding-confirmation', 'forwarding-test'] as const) {
			await expect(resolveOriginalSender(store, { ...intakeItem({ inbox: address }), kind })).rejects.toThrow(/connect the trigger's Message output/);
		}
		expect(await store.listContacts((await store.getInbox(address))!.id)).toEqual([]);
	});

	it('registers no inbox an item names: one the store does not hold is refused, recording nothing', async () => {
		const store = getStore();
		n += 1;
		const crafted = `ceo${n}@bank.example.test`;
		await expect(resolveOriginalSender(store, intakeItem({ inbox: crafted }))).rejects.toThrow(`The item's inbox ${crafted} is not an inbox of this store`);
		expect(await store.getInbox(crafted)).toBeNull();
	});

	it('records no refused or held message unless it was released from quarantine (the Rejected / quarantined output wired in)', async () => {
		const store = getStore();
		const address = await inbox(store);
		for (const action of ['reject', 'defer', 'quarantine'] as const) {
			const item = intakeItem({ inbox: address, from: 'ceo@customer.example.test' });
			item.verdict = { action, smtpCode: 550, enhancedCode: '5.7.1', reasons: ['dmarc=fail (p=reject) for customer.example.test'], flags: [] };
			await expect(resolveOriginalSender(store, item)).rejects.toThrow(/connect the trigger's Message output here, not its Rejected \/ quarantined output/);
		}
		expect(await store.listContacts((await store.getInbox(address))?.id ?? address).catch(() => [])).toEqual([]);
		const held = intakeItem({ inbox: address, from: 'held@customer.example.test' });
		held.verdict = { action: 'quarantine', smtpCode: 250, enhancedCode: '2.0.0', reasons: ['held for review'], flags: [] };
		expect((await resolved(store, { ...held, released: { by: 'ana@company.test', at: new Date().toISOString() } })).contact.email).toBe('held@customer.example.test');
	});

	it('files an agent manual forward under the forwarded email author', async () => {
		const store = getStore();
		const address = await inbox(store);
		const part = await resolved(store, manualForwardItem('author@customer.test', 'ana@company.test', { inbox: address }));
		expect(part.contact.email).toBe('author@customer.test');
		expect(await store.findContactByEmail((await store.getInbox(address))!.id, 'ana@company.test')).toBeNull();
	});

	it('creates and flags an untrusted original sender by default', async () => {
		const store = getStore();
		const part = await resolved(store, googleGroupsItem('mallory@example.com', 'open_list@googlegroups.com', false, { inbox: await inbox(store) }));
		expect(part.contact.email).toBe('mallory@example.com');
		expect(part.contact.flagged).toBe(true);
		expect(part.contact.flagReason).toBe('original sender mallory@example.com (list-rewrite) could not be authenticated: X-Original-From; list message not authenticated');
	});

	it('keeps the outer sender for an untrusted original sender when set to', async () => {
		const store = getStore();
		const part = await resolved(store, googleGroupsItem('mallory@example.com', 'open_list@googlegroups.com', false, { inbox: await inbox(store) }), { untrustedSender: 'keepOuterSender' });
		expect(part.contact).toMatchObject({ email: 'open_list@googlegroups.com', flagged: false });
	});

	it('threads a reply into its conversation, and a reply to a closed conversation reopens it', async () => {
		const store = getStore();
		const address = await inbox(store);
		const first = await resolved(store, intakeItem({ inbox: address, from: 'zoe@example.test', messageId: `first${n}@example.test` }));
		const reply = await resolved(store, intakeItem({ inbox: address, from: 'zoe@example.test', inReplyTo: [`first${n}@example.test`] }));
		expect(reply.conversation).toMatchObject({ id: first.conversation.id, isNew: false, reopened: false });
		expect(reply.contact).toMatchObject({ id: first.contact.id, created: false });

		await store.closeConversation(first.conversation.id);
		const late = await resolved(store, intakeItem({ inbox: address, from: 'zoe@example.test', inReplyTo: [reply.message.messageId] }));
		expect(late.conversation).toMatchObject({ id: first.conversation.id, status: 'open', reopened: true, isNew: false });
	});

	it('returns the recorded contact and conversation on a replay, writing nothing twice', async () => {
		const store = getStore();
		const item = intakeItem({ inbox: await inbox(store), from: 'replay@example.test' });
		const first = await resolved(store, item);
		const again = await resolved(store, item);
		expect(again).toEqual({ ...first, replay: true, contact: { ...first.contact, created: false } });
		expect(await store.listMessages(first.conversation.id)).toHaveLength(1);

		// Without a Message-ID the store derives a stable one from the content: still a replay.
		const bare = intakeItem({ inbox: item.inbox.address, from: 'bare@example.test', messageId: null });
		const bareFirst = await resolved(store, bare);
		expect((await resolved(store, bare)).replay).toBe(true);
		expect((await resolved(store, bare)).conversation.id).toBe(bareFirst.conversation.id);
	});

	it('does not create a missing contact when "Create missing contacts" is off', async () => {
		const store = getStore();
		const address = await inbox(store);
		const outcome = await resolveOriginalSender(store, intakeItem({ inbox: address, from: 'stranger@example.test' }), { createMissingContacts: false });
		expect(outcome).toEqual({ status: 'unknown-sender', address: 'stranger@example.test', reason: 'stranger@example.test is not a contact and "Create missing contacts" is off; nothing was recorded' });
		const id = (await store.getInbox(address))!.id;
		expect(await store.listContacts(id)).toEqual([]);
		await store.createContact(id, { email: 'known@example.test' });
		const known = await resolveOriginalSender(store, intakeItem({ inbox: address, from: 'Known@Example.test' }), { createMissingContacts: false });
		expect(known.status).toBe('resolved');
	});

	it('never files a message without a single author under its envelope sender', async () => {
		const store = getStore();
		const address = await inbox(store);
		const item = intakeItem({ inbox: address, from: 'bounce@attacker.test', originalSender: { address: null, trusted: false, evidence: ['From "Board: CEO <ceo@company.test>;" is a group, not a mailbox'] } });
		item.email.from = null;
		await expect(resolveOriginalSender(store, item)).rejects.toThrow('The message names no author (its From is not exactly one mailbox), so it is filed under no contact');
		expect(await store.listContacts((await store.getInbox(address))!.id)).toEqual([]);
	});

	it('creates contacts for external Cc addresses only when asked', async () => {
		const store = getStore();
		const address = await inbox(store);
		const agent = await store.createAgent({ email: `agent${n}@company.test`, firstName: 'A', fullName: 'A Gent' });
		const cc = ['partner@vendor.test', agent.email, address, 'Lead@Example.test'];
		const plain = await resolved(store, intakeItem({ inbox: address, from: 'lead@example.test', cc }));
		expect(plain.ccContacts).toBeUndefined();
		expect((await store.listContacts((await store.getInbox(address))!.id)).map((c) => c.email)).toEqual(['lead@example.test']);

		const withCc = await resolved(store, intakeItem({ inbox: address, from: 'lead@example.test', cc }), { createCcContacts: true });
		expect(withCc.ccContacts).toEqual([{ id: expect.any(String), email: 'partner@vendor.test', name: null, created: true }]);

		// A Cc of thousands makes the first MAX_CC_CONTACTS only.
		const crowd = Array.from({ length: MAX_CC_CONTACTS + 30 }, (_, i) => `cc${i}@crowd.test`);
		const flood = await resolved(store, intakeItem({ inbox: address, from: 'lead@example.test', cc: crowd }), { createCcContacts: true });
		expect(flood.ccContacts?.map((c) => c.email)).toEqual(crowd.slice(0, MAX_CC_CONTACTS));
	});

	/** Raw bytes through the real intake (offline DNS, no records) into the item the trigger emits. */
	async function intakeOf(raw: string, address: string): Promise<IntakeItem> {
		const { result, content } = await runChecks(Buffer.from(raw), { inbox: parseInboxConfig({ address }), resolver: zoneResolver({}), envelope: { clientIp: '192.0.2.25', mailFrom: 'x@example.test', rcpt: [address] } });
		return buildIntakeEmission(result, content, { inboxAddress: address, via: 'smtp', receivedAt: new Date().toISOString() }).item;
	}

	it('stores a message with a NUL in its body and in its encoded subject and sender name (replaced, folded), and logs one like it', async () => {
		const store = getStore();
		const address = await inbox(store);
		const b64 = (text: string) => `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;
		const raw = `From: ${b64('Zoe\0Z')} <zoe@customer.example.test>\r\nTo: ${address}\r\nSubject: ${b64('Order\0 9\r\nBcc: x@example.test')}\r\nMessage-ID: <nul.${n}@customer.example.test>\r\n\r\nbroken\0box\r\n`;
		const item = await intakeOf(raw, address);
		expect(item.verdict.flags).toEqual(expect.arrayContaining(['nul-replaced', 'control-characters-folded']));
		const part = await resolved(store, item);
		expect(part.contact).toMatchObject({ email: 'zoe@customer.example.test', name: 'Zoe Z' });
		expect(part.conversation.subject).toBe('Order  9  Bcc: x@example.test');
		const [message] = await store.listMessages(part.conversation.id);
		expect(message).toMatchObject({ subject: 'Order  9  Bcc: x@example.test', text: 'broken\uFFFDbox\n' });
		const logged = await store.logIntake({ inboxId: address, kind: 'quarantined', ...item.envelope, messageId: item.thread.messageId, from: item.email.from?.address ?? null, subject: item.email.subject, details: { verdict: item.verdict } });
		expect(logged.subject).toBe('Order  9  Bcc: x@example.test');
	});

	it('records a stranger reusing a customer\'s Message-ID as a new message, and still knows the redelivery through another path', async () => {
		const store = getStore();
		const address = await inbox(store);
		const id = `order-${n}@Mail.Customer.example.test`;
		const message = (from: string, body: string) =>
			`From: ${from}\r\nTo: ${address}\r\nSubject: Order ${n}\r\nMessage-ID: <${id}>\r\nDate: Mon, 03 Mar 2025 08:00:00 +0000\r\n\r\n${body}\r\n`;
		const genuine = message('Zoe <zoe@customer.example.test>', 'My order arrived broken.');
		const first = await resolved(store, await intakeOf(genuine, address));
		expect(first).toMatchObject({ replay: false, contact: { email: 'zoe@customer.example.test' }, conversation: { isNew: true } });

		// The stranger got the Message-ID first (a raced or copied id): the customer's mail is recorded all the same.
		const stranger = await resolved(store, await intakeOf(message('mallory@attacker.example.test', 'Please pay to IBAN XX00 0000.'), address));
		expect(stranger).toMatchObject({ replay: false, contact: { email: 'mallory@attacker.example.test' }, conversation: { isNew: true } });
		const forged = await resolved(store, await intakeOf(message('Zoe <zoe@customer.example.test>', 'New bank details: IBAN XX00 0000.'), address));
		expect(forged.replay).toBe(false);
		expect(forged.message.id).not.toBe(first.message.id);

		// The same message again: an SMTP retry, and a copy through a forwarder that added trace headers and stored it with LF line ends.
		const relayed = `Received: from relay.example.net by mx.example.net; Mon, 03 Mar 2025 08:01:00 +0000\r\nX-Forwarded-For: zoe@customer.example.test\r\n${genuine}`.replace(/\r\n/g, '\n');
		for (const copy of [genuine, relayed]) {
			const again = await resolved(store, await intakeOf(copy, address));
			expect(again).toMatchObject({ replay: true, message: { id: first.message.id }, conversation: { id: first.conversation.id } });
		}
		expect(await store.listMessages(first.conversation.id)).toHaveLength(1);
	});

	it('opens a new, flagged conversation for a stranger replying into another customer\'s conversation; the customer\'s own reply threads', async () => {
		const store = getStore();
		const address = await inbox(store);
		const customer = await resolved(store, intakeItem({ inbox: address, from: 'zoe@customer.example.test', messageId: `thread${n}@customer.example.test` }));
		const stranger = await resolved(store, intakeItem({ inbox: address, from: 'mallory@attacker.example.test', inReplyTo: [`thread${n}@customer.example.test`] }));
		expect(stranger.contact.email).toBe('mallory@attacker.example.test');
		expect(stranger.conversation).toMatchObject({ isNew: true, threadRefused: expect.stringContaining(`name conversation ${customer.conversation.id}, but mallory@attacker.example.test is not its contact`) });
		expect(stranger.conversation.id).not.toBe(customer.conversation.id);

		// An unsigned list rewrite naming the customer is filed under the customer, flagged, but does not join the conversation.
		const claim = await resolved(store, googleGroupsItem('zoe@customer.example.test', 'open_list@googlegroups.com', false, { inbox: address, inReplyTo: [`thread${n}@customer.example.test`] }));
		expect(claim.contact).toMatchObject({ email: 'zoe@customer.example.test', flagged: true });
		expect(claim.conversation).toMatchObject({ isNew: true, threadRefused: expect.stringContaining('an original sender the intake could not authenticate (named through a list or a forward) follows no thread') });

		const own = await resolved(store, intakeItem({ inbox: address, from: 'Zoe@Customer.example.test', inReplyTo: [`thread${n}@customer.example.test`] }));
		expect(own.conversation).toMatchObject({ id: customer.conversation.id, isNew: false, threadRefused: null });
	});

	it('does not let an unauthenticated From naming an agent into another customer\'s conversation; the authenticated agent threads', async () => {
		const store = getStore();
		const address = await inbox(store);
		const agent = await store.createAgent({ email: `agent${n}@company.test`, firstName: 'A', fullName: 'A Gent' });
		const id = `thread${n}@customer.example.test`;
		const customer = await resolved(store, intakeItem({ inbox: address, from: 'zoe@customer.example.test', messageId: id }));
		// company.test publishes no DMARC: the forged From is accepted, but only as a claim.
		const forged = await resolved(
			store,
			await intakeOf(`From: ${agent.email}\r\nTo: ${address}\r\nSubject: Re: Order\r\nMessage-ID: <forged${n}@attacker.example.test>\r\nIn-Reply-To: <${id}>\r\n\r\nNew bank details: IBAN XX00 0000.\r\n`, address),
		);
		expect(forged.conversation).toMatchObject({ isNew: true, threadRefused: expect.stringContaining(`${agent.email} is not its contact`) });
		const real = await resolved(store, intakeItem({ inbox: address, from: agent.email, inReplyTo: [id] }));
		expect(real.conversation).toMatchObject({ id: customer.conversation.id, isNew: false, threadRefused: null });
	});
	it("does not let one list poster into another's conversation through the list's address, signed list or not; a Cc'd colleague joins", async () => {
		const store = getStore();
		const address = await inbox(store);
		const id = `post${n}@customer.example.test`;
		const jane = await resolved(store, googleGroupsItem('jane@customer.example.test', 'support@lists.example.test', false, { inbox: address, messageId: id, to: ['support@lists.example.test'], cc: ['bob@customer.example.test'] }));
		// Another poster through the same list, unsigned or signed: the list's address (in the From and To of Jane's post) is no participant.
		for (const trusted of [false, true]) {
			const mallory = await resolved(store, googleGroupsItem('mallory@attacker.example.test', 'support@lists.example.test', trusted, { inbox: address, inReplyTo: [id], to: ['support@lists.example.test'] }));
			expect(mallory.conversation.id).not.toBe(jane.conversation.id);
			expect(mallory.conversation).toMatchObject({ isNew: true, threadRefused: expect.stringContaining(jane.conversation.id) });
		}
		const bob = await resolved(store, intakeItem({ inbox: address, from: 'bob@customer.example.test', inReplyTo: [id] }));
		expect(bob.conversation).toMatchObject({ id: jane.conversation.id, threadRefused: null });
	});

	it("takes the team's own addresses (a group forwarding to the inbox, a colleague of the agents) for participants only when their mail authenticates", async () => {
		const store = getStore();
		const address = await inbox(store);
		await store.createAgent({ email: `staff${n}@team${n}.example.test`, firstName: 'S', fullName: 'Staff' });
		const id = `via-group${n}@customer.example.test`;
		const jane = await resolved(store, intakeItem({ inbox: address, from: 'jane@customer.example.test', messageId: id, to: [`help@team${n}.example.test`], cc: [`carol@team${n}.example.test`] }));
		for (const who of [`help@team${n}.example.test`, `carol@team${n}.example.test`]) {
			const forged = await resolved(store, intakeItem({ inbox: address, from: who, inReplyTo: [id], originalSender: { trusted: false, evidence: ['dmarc=none'] } }));
			expect(forged.conversation).toMatchObject({ isNew: true, threadRefused: expect.stringContaining(`${who} is not its contact`) });
			const signed = await resolved(store, intakeItem({ inbox: address, from: who, inReplyTo: [id] }));
			expect(signed.conversation).toMatchObject({ id: jane.conversation.id, threadRefused: null });
		}
	});

	it("does not let an unauthenticated From naming an agent into a conversation that agent forwarded (an agent is no participant)", async () => {
		const store = getStore();
		const address = await inbox(store);
		const agent = await store.createAgent({ email: `forwarder${n}@company.test`, firstName: 'F', fullName: 'For Warder' });
		const id = `fwd${n}@company.test`;
		const forward = await resolved(store, manualForwardItem('victim@customer.example.test', agent.email, { inbox: address, messageId: id }));
		const forged = await resolved(store, intakeItem({ inbox: address, from: agent.email, inReplyTo: [id], originalSender: { trusted: false, evidence: ['dmarc=none'] } }));
		expect(forged.conversation).toMatchObject({ isNew: true, threadRefused: expect.stringContaining(`${agent.email} is not its contact`) });
		expect(forged.conversation.id).not.toBe(forward.conversation.id);
		// Nor an unproven forward claim made through that agent's address.
		const claim = await resolved(
			store,
			intakeItem({ inbox: address, from: agent.email, inReplyTo: [id], originalSender: { address: 'victim@customer.example.test', method: 'inline-forward', forwardedBy: agent.email, trusted: false } }),
		);
		expect(claim.conversation).toMatchObject({ isNew: true, threadRefused: expect.stringContaining('follows no thread') });
	});

	it('follows a Message-ID reused by strangers to its first few conversations only: the customer still threads, a stranger is refused, naming five', async () => {
		const store = getStore();
		const address = await inbox(store);
		const id = `reused${n}@customer.example.test`;
		const customer = await resolved(store, intakeItem({ inbox: address, from: 'zoe@customer.example.test', messageId: id }));
		for (let copy = 0; copy < 8; copy++) await resolved(store, intakeItem({ inbox: address, from: `copy${copy}@attacker.example.test`, messageId: id }));
		const own = await resolved(store, intakeItem({ inbox: address, from: 'zoe@customer.example.test', inReplyTo: [id] }));
		expect(own.conversation).toMatchObject({ id: customer.conversation.id, threadRefused: null });
		const stranger = await resolved(store, intakeItem({ inbox: address, from: 'mallory@attacker.example.test', inReplyTo: [id] }));
		const named = /name conversation (.*), but/.exec(stranger.conversation.threadRefused ?? '')?.[1].split(', ');
		expect(named).toHaveLength(5);
		expect(named?.[0]).toBe(customer.conversation.id);
		// An item made by hand may name any number of ids: the first 200 are looked up (SQLite takes 500 terms a query).
		const references = Array.from({ length: 2000 }, (_, i) => `made-up-${i}@x.example.test`);
		const crafted = await resolved(store, intakeItem({ inbox: address, from: 'zoe@customer.example.test', inReplyTo: [id], references }));
		expect(crafted.conversation).toMatchObject({ id: customer.conversation.id, threadRefused: null });
	});

	it('marks the spool entry it was emitted from done when it records the message, a replay too; an unknown or held entry changes nothing', async () => {
		const store = getStore();
		const address = await inbox(store);
		const { id: inboxId } = await store.registerInbox({ address });
		const envelope = { clientIp: null, helo: null, mailFrom: null, rcpt: [address] };
		const spooled = async (quarantined = false) => await store.spoolPut({ inboxId, message: bytesOf(Buffer.from('Subject: x\r\n\r\nx\r\n')), envelope, quarantined });
		const entry = await spooled();
		const item = { ...intakeItem({ inbox: address }), spool: { id: entry.id } };
		expect((await resolved(store, item)).replay).toBe(false);
		expect((await store.spoolGet(entry.id))?.status).toBe('done');
		// The sweep's re-emission of the same entry: recorded once, still done.
		expect((await resolved(store, item)).replay).toBe(true);
		expect((await store.spoolGet(entry.id))?.status).toBe('done');

		const held = await spooled(true);
		await resolved(store, { ...intakeItem({ inbox: address }), spool: { id: held.id } });
		expect((await store.spoolGet(held.id))?.status).toBe('quarantined');
		const unknown = await resolved(store, { ...intakeItem({ inbox: address }), spool: { id: 'made-by-hand' } });
		expect(unknown.replay).toBe(false);
	});

	it('marks the spool entry done when the message goes to Unknown Sender ("Create missing contacts" off), recording nothing', async () => {
		const store = getStore();
		const address = await inbox(store);
		const { id: inboxId } = await store.registerInbox({ address });
		const envelope = { clientIp: null, helo: null, mailFrom: null, rcpt: [address] };
		const entry = await store.spoolPut({ inboxId, message: bytesOf(Buffer.from('Subject: x\r\n\r\nx\r\n')), envelope });
		const item = { ...intakeItem({ inbox: address, from: 'stranger@example.test' }), spool: { id: entry.id } };
		expect((await resolveOriginalSender(store, item, { createMissingContacts: false })).status).toBe('unknown-sender');
		// Else the HTTP door's sweep emits it to Unknown Sender a second time once due.
		expect((await store.spoolGet(entry.id))?.status).toBe('done');
		expect(await store.listContacts(inboxId)).toEqual([]);
	});
});
