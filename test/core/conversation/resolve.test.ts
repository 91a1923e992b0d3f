import { resolveOriginalSender, type ResolvedPart, type ResolveOptions } from '../../../core/conversation/resolve';
import type { IntakeItem } from '../../../core/item';
import type { Store } from '../../../core/store/types';
import { googleGroupsItem, intakeItem, manualForwardItem } from '../../support/items';
import { describeEachStore } from '../../support/stores';

describeEachStore('resolveOriginalSender', (getStore) => {
	let n = 0;
	function inbox() {
		n += 1;
		return `resolve${n}@inbox.hosted.test`;
	}
	async function resolved(store: Store, item: IntakeItem, options: Partial<ResolveOptions> = {}): Promise<ResolvedPart> {
		const outcome = await resolveOriginalSender(store, item, options);
		if (outcome.status !== 'resolved') throw new Error(`expected resolved, got ${outcome.status}: ${outcome.reason}`);
		return outcome.part;
	}

	it('files a Google Groups message under the original poster, not the group', async () => {
		const store = getStore();
		const part = await resolved(store, googleGroupsItem('jane@example.com', 'acme_group@googlegroups.com', true, { inbox: inbox() }));
		expect(part.contact).toMatchObject({ email: 'jane@example.com', created: true, flagged: false });
		expect(part.conversation).toMatchObject({ isNew: true, reopened: false, status: 'open' });
		expect(part.replay).toBe(false);
		const [message] = await store.listMessages(part.conversation.id);
		expect(message).toMatchObject({ from: 'acme_group@googlegroups.com', originalSenderMethod: 'list-rewrite', authSummary: 'spf=pass dkim=pass dmarc=pass arc=none' });
	});

	it('refuses a forwarding confirmation or test wired into it, recording nothing', async () => {
		const store = getStore();
		const address = inbox();
		for (const kind of ['forwarding-confirmation', 'forwarding-test'] as const) {
			await expect(resolveOriginalSender(store, { ...intakeItem({ inbox: address }), kind })).rejects.toThrow(/connect the trigger's Message output/);
		}
		expect(await store.getInbox(address)).toBeNull();
	});

	it('files an agent manual forward under the forwarded email author', async () => {
		const store = getStore();
		const address = inbox();
		const part = await resolved(store, manualForwardItem('author@customer.test', 'ana@company.test', { inbox: address }));
		expect(part.contact.email).toBe('author@customer.test');
		expect(await store.findContactByEmail((await store.getInbox(address))!.id, 'ana@company.test')).toBeNull();
	});

	it('creates and flags an untrusted original sender by default', async () => {
		const store = getStore();
		const part = await resolved(store, googleGroupsItem('mallory@example.com', 'open_list@googlegroups.com', false, { inbox: inbox() }));
		expect(part.contact.email).toBe('mallory@example.com');
		expect(part.contact.flagged).toBe(true);
		expect(part.contact.flagReason).toBe('original sender mallory@example.com (list-rewrite) could not be authenticated: X-Original-From; list message not authenticated');
	});

	it('keeps the outer sender for an untrusted original sender when set to', async () => {
		const store = getStore();
		const part = await resolved(store, googleGroupsItem('mallory@example.com', 'open_list@googlegroups.com', false, { inbox: inbox() }), { untrustedSender: 'keepOuterSender' });
		expect(part.contact).toMatchObject({ email: 'open_list@googlegroups.com', flagged: false });
	});

	it('threads a reply into its conversation, and a reply to a closed conversation reopens it', async () => {
		const store = getStore();
		const address = inbox();
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
		const item = intakeItem({ inbox: inbox(), from: 'replay@example.test' });
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
		const address = inbox();
		const outcome = await resolveOriginalSender(store, intakeItem({ inbox: address, from: 'stranger@example.test' }), { createMissingContacts: false });
		expect(outcome).toEqual({ status: 'unknown-sender', address: 'stranger@example.test', reason: 'stranger@example.test is not a contact and "Create missing contacts" is off; nothing was recorded' });
		const id = (await store.getInbox(address))!.id;
		expect(await store.listContacts(id)).toEqual([]);
		await store.createContact(id, { email: 'known@example.test' });
		const known = await resolveOriginalSender(store, intakeItem({ inbox: address, from: 'Known@Example.test' }), { createMissingContacts: false });
		expect(known.status).toBe('resolved');
	});

	it('creates contacts for external Cc addresses only when asked', async () => {
		const store = getStore();
		const address = inbox();
		const agent = await store.createAgent({ email: `agent${n}@company.test`, firstName: 'A', fullName: 'A Gent' });
		const cc = ['partner@vendor.test', agent.email, address, 'Lead@Example.test'];
		const plain = await resolved(store, intakeItem({ inbox: address, from: 'lead@example.test', cc }));
		expect(plain.ccContacts).toBeUndefined();
		expect((await store.listContacts((await store.getInbox(address))!.id)).map((c) => c.email)).toEqual(['lead@example.test']);

		const withCc = await resolved(store, intakeItem({ inbox: address, from: 'lead@example.test', cc }), { createCcContacts: true });
		expect(withCc.ccContacts).toEqual([{ id: expect.any(String), email: 'partner@vendor.test', name: null, created: true }]);
	});
});
