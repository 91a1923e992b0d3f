import { randomUUID } from 'node:crypto';

import { bytesOf } from '../../../core/message-bytes';
import { CONTENT_ID_DOMAIN, newOutboundMessageId } from '../../../core/store/message-id';
import { type Inbox } from '../../../core/store/types';
import { InvalidInputError } from '../../../core/errors';
import type { Store } from '../../../core/store/roles';
import { decisionFor } from '../../fixtures/intake';
import { describeEachStore, spooledRaw, sqlDriverFor } from '../../support/stores';
import { inbound, uniqueEmail } from './fixtures';

async function newInbox(store: Store): Promise<Inbox> {
	return store.registerInbox({ address: uniqueEmail('support', 'inbox.example.test') });
}

async function newAgent(store: Store, overrides: { availability?: 'available' | 'away'; capacity?: number | null } = {}) {
	const email = uniqueEmail('agent', 'team.example.test');
	return store.createAgent({ email, firstName: 'Alex', fullName: 'Alex Agent', ...overrides });
}

describeEachStore('conversations store', (getStore, _engine, getOptions) => {
	describe('inboxes', () => {
		it('registers by address, case-insensitively, and updates in place', async () => {
			const store = getStore();
			const address = uniqueEmail('help', 'inbox.example.test');
			const first = await store.registerInbox({ address, fromName: null });
			const again = await store.registerInbox({ address: address.toUpperCase(), fromName: `Acme ${first.id}` });
			expect(again.id).toBe(first.id);
			expect(again.fromName).toBe(`Acme ${first.id}`);
			expect((await store.getInbox(address.toUpperCase()))?.id).toBe(first.id);
			expect((await store.listInboxes()).filter((inbox) => inbox.id === first.id)).toHaveLength(1);
		});

		it('refuses a from-name already used by another inbox, naming it, and changes nothing', async () => {
			const store = getStore();
			const fromName = `Acme Support ${randomUUID()}`;
			const holder = await store.registerInbox({ address: uniqueEmail('a', 'inbox.example.test'), fromName });
			const other = await newInbox(store);
			await expect(store.registerInbox({ address: other.address, fromName: fromName.toUpperCase() })).rejects.toThrow(
				new RegExp(`already used by the inbox ${holder.address.replace(/[.]/g, '\\.')}`),
			);
			await expect(store.registerInbox({ address: other.address, fromName })).rejects.toBeInstanceOf(InvalidInputError);
			expect((await store.getInbox(other.address))?.fromName).toBeNull();
		});

		it('adds, lists and removes the agents of an inbox', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const [a, b] = [await newAgent(store), await newAgent(store)];
			await store.addInboxAgent(inbox.id, a.id);
			await store.addInboxAgent(inbox.id, b.email);
			await store.addInboxAgent(inbox.id, a.id);
			expect((await store.listInboxAgents(inbox.id)).map((agent) => agent.id)).toEqual([a.id, b.id]);
			await store.removeInboxAgent(inbox.id, a.id);
			expect((await store.listInboxAgents(inbox.id)).map((agent) => agent.id)).toEqual([b.id]);
			await expect(store.addInboxAgent(inbox.id, randomUUID())).rejects.toThrow(/Unknown agent/);
		});
	});

	describe('agents and teams', () => {
		it('creates, finds by id or email, updates and deactivates agents', async () => {
			const store = getStore();
			const email = uniqueEmail('Maria', 'team.example.test');
			const agent = await store.createAgent({
				email,
				firstName: 'Maria',
				fullName: 'Maria Lopez',
				capacity: 5,
				workingHours: { timeZone: 'Europe/Madrid', days: { '1': { start: '09:00', end: '17:00' } } },
			});
			expect(agent).toMatchObject({ email, availability: 'available', capacity: 5, active: true });
			expect((await store.getAgent(email.toLowerCase()))?.id).toBe(agent.id);
			const away = await store.updateAgent(agent.id, { availability: 'away' });
			expect(away.availability).toBe('away');
			expect(away.workingHours?.timeZone).toBe('Europe/Madrid');
			const deactivated = await store.updateAgent(email, { active: false });
			expect(deactivated.active).toBe(false);
			const inactive = await store.listAgents({ active: false });
			expect(inactive.map((a) => a.id)).toContain(agent.id);
			expect((await store.listAgents({ active: true })).map((a) => a.id)).not.toContain(agent.id);
		});

		it('rejects bad agent input with a clear error and changes nothing', async () => {
			const store = getStore();
			await expect(store.createAgent({ email: 'not-an-email', firstName: 'X', fullName: 'X Y' })).rejects.toThrow(/Invalid agent email address: "not-an-email"/);
			const agent = await newAgent(store);
			await expect(store.createAgent({ email: agent.email.toUpperCase(), firstName: 'X', fullName: 'X Y' })).rejects.toThrow(/already exists/);
			await expect(store.updateAgent(randomUUID(), { availability: 'away' })).rejects.toThrow(/Unknown agent/);
			await expect(store.updateAgent(agent.id, { availability: 'busy' as 'away' })).rejects.toBeInstanceOf(InvalidInputError);
			await expect(store.updateAgent(agent.id, { workingHours: { timeZone: 'Mars/Olympus', days: {} } })).rejects.toThrow(/Unknown time zone/);
			await expect(store.updateAgent(agent.id, { capacity: -1 })).rejects.toThrow(/Capacity/);
			expect(await store.getAgent(agent.id)).toEqual(agent);
		});

		it('keeps teams and their members', async () => {
			const store = getStore();
			const name = `Billing ${randomUUID().slice(0, 6)}`;
			const team = await store.createTeam(name);
			const [a, b] = [await newAgent(store), await newAgent(store)];
			await store.addTeamMember(name.toLowerCase(), a.email);
			const withBoth = await store.addTeamMember(team.id, b.id);
			expect([...withBoth.memberIds].sort()).toEqual([a.id, b.id].sort());
			expect((await store.removeTeamMember(team.id, a.id)).memberIds).toEqual([b.id]);
			expect((await store.listTeams()).find((t) => t.id === team.id)?.memberIds).toEqual([b.id]);
			await expect(store.createTeam(name)).rejects.toThrow(/already exists/);
			await expect(store.addTeamMember(randomUUID(), a.id)).rejects.toThrow(/Unknown team/);
		});
	});

	describe('contacts', () => {
		it('finds or creates one contact per address per inbox, case-insensitively, even when racing', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const email = uniqueEmail('Ann');
			const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.findOrCreateContact(inbox.id, { email: i % 2 ? email.toUpperCase() : email, name: 'Ann' })));
			expect(new Set(results.map((r) => r.contact.id)).size).toBe(1);
			expect(results.filter((r) => r.created)).toHaveLength(1);
			expect((await store.findContactByEmail(inbox.id, email.toUpperCase()))?.id).toBe(results[0].contact.id);
			const otherInbox = await newInbox(store);
			const elsewhere = await store.findOrCreateContact(otherInbox.id, { email });
			expect(elsewhere.created).toBe(true);
			expect(elsewhere.contact.id).not.toBe(results[0].contact.id);
		});

		it('sets and changes the owner; an unknown owner or a bad email changes nothing', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const owner = await newAgent(store);
			const contact = await store.createContact(inbox.id, { email: uniqueEmail('bo'), name: 'Bo', ownerId: owner.email });
			expect(contact.ownerId).toBe(owner.id);
			await expect(store.updateContact(contact.id, { ownerId: randomUUID() })).rejects.toThrow(/Unknown owner agent/);
			expect((await store.getContact(contact.id))?.ownerId).toBe(owner.id);
			const cleared = await store.updateContact(contact.id, { ownerId: null, name: 'Bo B' });
			expect(cleared).toMatchObject({ ownerId: null, name: 'Bo B' });
			const before = (await store.listContacts(inbox.id)).length;
			await expect(store.findOrCreateContact(inbox.id, { email: 'bo at example' })).rejects.toThrow(/Invalid contact email/);
			await expect(store.createContact(inbox.id, { email: uniqueEmail('cy'), ownerId: 'nobody@team.example.test' })).rejects.toBeInstanceOf(InvalidInputError);
			expect(await store.listContacts(inbox.id)).toHaveLength(before);
			await expect(store.createContact(inbox.id, { email: contact.email })).rejects.toThrow(/already exists/);
		});
	});

	describe('contact import', () => {
		it('loads many contacts at once, keeping existing ones, and refuses the whole batch on one bad row', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const owner = await newAgent(store);
			const existing = await store.createContact(inbox.id, { email: uniqueEmail('old'), name: 'Old' });
			const batch = Array.from({ length: 250 }, (_, i) => ({ email: `bulk${i}@customer.example.test`, name: `Bulk ${i}`, ownerId: i % 2 ? owner.email : null }));
			const result = await store.importContacts(inbox.id, [...batch, { email: existing.email.toUpperCase(), name: 'Renamed' }]);
			expect(result).toEqual({ created: 250, existing: 1 });
			expect((await store.findContactByEmail(inbox.id, 'bulk1@customer.example.test'))?.ownerId).toBe(owner.id);
			expect((await store.getContact(existing.id))?.name).toBe('Old');
			await expect(store.importContacts(inbox.id, [{ email: 'fresh@customer.example.test' }, { email: 'broken' }])).rejects.toThrow(/Invalid contacts\[1\] email/);
			await expect(store.importContacts(inbox.id, [{ email: 'fresh@customer.example.test', ownerId: 'ghost@team.example.test' }])).rejects.toThrow(/Unknown owner agent/);
			expect(await store.findContactByEmail(inbox.id, 'fresh@customer.example.test')).toBeNull();
		});
	});

	describe('messages and threading', () => {
		it('starts a conversation, threads replies by In-Reply-To or References, and reports replays', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('ann') });
			const first = await store.recordMessage(inbound(inbox.id, contact.id, { messageId: '<First.1@mail.example.test>' }));
			expect(first.outcome).toBe('new-conversation');
			expect(first.message.messageId).toBe('First.1@mail.example.test');
			expect(first.conversation).toMatchObject({ status: 'open', contactId: contact.id, subject: 'Order 1234 arrived broken', assigneeId: null });

			const byInReplyTo = await store.recordMessage(inbound(inbox.id, contact.id, { inReplyTo: ['<First.1@mail.example.test>'] }));
			expect(byInReplyTo.outcome).toBe('existing-conversation');
			expect(byInReplyTo.conversation.id).toBe(first.conversation.id);

			const byReferences = await store.recordMessage(inbound(inbox.id, contact.id, { references: ['<unknown@elsewhere.test>', `<${byInReplyTo.message.messageId}>`] }));
			expect(byReferences.conversation.id).toBe(first.conversation.id);

			// A redelivery: the same Message-ID (brackets and the domain's case aside), From and content, received later.
			const replay = await store.recordMessage(inbound(inbox.id, contact.id, { messageId: 'First.1@MAIL.example.test', receivedAt: new Date(Date.now() + 60_000).toISOString() }));
			expect(replay.outcome).toBe('duplicate');
			expect(replay.message.id).toBe(first.message.id);
			expect(replay.message.receivedAt).toBe(first.message.receivedAt);
			expect(await store.listMessages(first.conversation.id)).toHaveLength(3);

			const unrelated = await store.recordMessage(inbound(inbox.id, contact.id, { inReplyTo: ['<never-seen@elsewhere.test>'] }));
			expect(unrelated.outcome).toBe('new-conversation');
		});

		it('records a stranger reusing a customer\'s Message-ID as a new message; the genuine redelivery is still a replay', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const customer = (await store.findOrCreateContact(inbox.id, { email: uniqueEmail('ann') })).contact;
			const stranger = (await store.findOrCreateContact(inbox.id, { email: uniqueEmail('mallory', 'attacker.example.test') })).contact;
			const messageId = `<${randomUUID()}@Mail.Customer.example.test>`;
			const genuine = { messageId, from: customer.email, contentHash: 'a'.repeat(64) };
			const first = await store.recordMessage(inbound(inbox.id, customer.id, genuine));
			expect(first.outcome).toBe('new-conversation');

			// Known (or raced) Message-ID from another sender, or with the customer's From but other content: recorded, not dropped.
			const reused = await store.recordMessage(inbound(inbox.id, stranger.id, { ...genuine, from: stranger.email, text: 'Pay this invoice', contentHash: 'b'.repeat(64) }));
			expect(reused.outcome).toBe('new-conversation');
			expect(reused.message.id).not.toBe(first.message.id);
			expect(reused.conversation.contactId).toBe(stranger.id);
			const spoofed = await store.recordMessage(inbound(inbox.id, stranger.id, { ...genuine, contentHash: 'c'.repeat(64) }));
			expect(spoofed.outcome).toBe('new-conversation');
			expect(spoofed.conversation.id).not.toBe(first.conversation.id);

			// The SMTP retry or IMAP re-fetch of the customer's message: same Message-ID, From (any case) and content.
			const redelivered = await store.recordMessage(inbound(inbox.id, stranger.id, { ...genuine, messageId: messageId.toLowerCase().replace('mail.customer', 'MAIL.CUSTOMER'), from: customer.email.toUpperCase() }));
			expect(redelivered).toMatchObject({ outcome: 'duplicate', message: { id: first.message.id }, conversation: { id: first.conversation.id } });
			expect(await store.findReplay(inbound(inbox.id, customer.id, genuine))).toMatchObject({ id: first.message.id });
			expect(await store.findReplay(inbound(inbox.id, customer.id, { ...genuine, contentHash: 'd'.repeat(64) }))).toBeNull();
			expect((await store.findMessage(inbox.id, messageId))?.id).toBe(first.message.id);
			expect(await store.listConversations({ inboxId: inbox.id })).toHaveLength(3);
		});

		it('opens a new, flagged conversation for a stranger whose In-Reply-To points at another customer\'s conversation; the contact, a participant and an agent thread', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const agent = await newAgent(store);
			const ann = (await store.findOrCreateContact(inbox.id, { email: uniqueEmail('ann') })).contact;
			const colleague = uniqueEmail('bob');
			const opened = await store.recordMessage(inbound(inbox.id, ann.id, { from: ann.email, cc: [colleague] }));
			const parent = opened.message.messageId;

			const mallory = (await store.findOrCreateContact(inbox.id, { email: uniqueEmail('mallory', 'attacker.example.test') })).contact;
			const intruder = inbound(inbox.id, mallory.id, { from: mallory.email, inReplyTo: [parent], references: ['<unknown@elsewhere.test>', `<${parent}>`] });
			const refused = await store.recordMessage(intruder);
			expect(refused.outcome).toBe('new-conversation');
			expect(refused.conversation).toMatchObject({ contactId: mallory.id });
			expect(refused.message.threadRefused).toBe(
				`In-Reply-To/References name conversation ${opened.conversation.id}, but ${mallory.email} is not its contact, a participant in it or an authenticated agent: filed as a new conversation`,
			);
			expect((await store.recordMessage(intruder)).message).toMatchObject({ id: refused.message.id, threadRefused: refused.message.threadRefused });
			// Filed under the customer's contact by an unproven claim, the sender is still the stranger.
			const claim = await store.recordMessage(inbound(inbox.id, ann.id, { from: mallory.email, sender: mallory.email, inReplyTo: [parent] }));
			expect(claim.conversation.id).not.toBe(opened.conversation.id);
			expect(claim.message.threadRefused).toMatch(/is not its contact/);

			const own = await store.recordMessage(inbound(inbox.id, ann.id, { from: ann.email.toUpperCase(), inReplyTo: [`<${parent}>`] }));
			expect(own).toMatchObject({ outcome: 'existing-conversation', conversation: { id: opened.conversation.id }, message: { threadRefused: null } });
			const bob = (await store.findOrCreateContact(inbox.id, { email: colleague })).contact;
			const cc = await store.recordMessage(inbound(inbox.id, bob.id, { from: colleague, references: [parent] }));
			expect(cc.conversation.id).toBe(opened.conversation.id);
			const agentContact = (await store.findOrCreateContact(inbox.id, { email: agent.email })).contact;
			// Anyone can write an agent's From: only an authenticated one joins as an agent.
			const forgedAgent = await store.recordMessage(inbound(inbox.id, agentContact.id, { from: agent.email, text: 'forged', inReplyTo: [own.message.messageId] }));
			expect(forgedAgent.message.threadRefused).toMatch(/is not its contact, a participant in it or an authenticated agent/);
			const fromAgent = await store.recordMessage(inbound(inbox.id, agentContact.id, { from: agent.email, senderAuthenticated: true, inReplyTo: [own.message.messageId] }));
			expect(fromAgent.conversation.id).toBe(opened.conversation.id);
			expect((await store.listMessages(opened.conversation.id)).map((m) => m.id)).toEqual([opened.message.id, own.message.id, cc.message.id, fromAgent.message.id]);
		});

		it('threads a reply to our outbound message even when the client dropped References', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const agent = await newAgent(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('dee') });
			const opened = await store.recordMessage(inbound(inbox.id, contact.id));
			const ourId = newOutboundMessageId('inbox.example.test');
			const sent = await store.recordMessage(
				inbound(inbox.id, contact.id, {
					direction: 'out',
					messageId: `<${ourId}>`,
					conversationId: opened.conversation.id,
					senderAgentId: agent.id,
					from: inbox.address,
					subject: 'Re: Order 1234 arrived broken',
				}),
			);
			expect(sent.outcome).toBe('existing-conversation');
			expect(sent.message).toMatchObject({ direction: 'out', senderAgentId: agent.id });
			const reply = await store.recordMessage(inbound(inbox.id, contact.id, { inReplyTo: [ourId], references: [] }));
			expect(reply.conversation.id).toBe(opened.conversation.id);
			expect((await store.findMessage(inbox.id, `<${ourId}>`))?.direction).toBe('out');
		});

		it('derives a stable Message-ID from the content when there is none, so replays are recognised', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('eve') });
			const input = inbound(inbox.id, contact.id, { messageId: null, text: `no id ${randomUUID()}` });
			const first = await store.recordMessage(input);
			expect(first.message.messageId).toMatch(new RegExp(`^[0-9a-f]{40}@${CONTENT_ID_DOMAIN.replace(/\./g, '\\.')}$`));
			const again = await store.recordMessage({ ...input, receivedAt: new Date(Date.now() + 60_000).toISOString() });
			expect(again.outcome).toBe('duplicate');
			expect(again.message.id).toBe(first.message.id);
			const different = await store.recordMessage({ ...input, text: `${input.text}!` });
			expect(different.outcome).toBe('new-conversation');
		});

		it('takes the same sizes and capacities on both engines: a size past INTEGER is kept as its largest, a capacity past 100,000 refused', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('big') });
			const recorded = await store.recordMessage({ ...inbound(inbox.id, contact.id), size: 3e9 });
			expect(recorded.message.size).toBe(2 ** 31 - 1);
			await expect(store.createAgent({ email: uniqueEmail('cap', 'team.example.test'), firstName: 'C', fullName: 'C Ap', capacity: 3e9 })).rejects.toThrow(
				new InvalidInputError('Capacity must be a whole number of open conversations (0 to 100000) or empty, not 3000000000'),
			);
		});

		it('reopens a closed conversation when the contact replies; an outbound message does not', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('flo') });
			const first = await store.recordMessage(inbound(inbox.id, contact.id));
			expect((await store.closeConversation(first.conversation.id)).status).toBe('closed');
			const note = await store.recordMessage(inbound(inbox.id, contact.id, { direction: 'out', conversationId: first.conversation.id }));
			expect(note).toMatchObject({ reopened: false, conversation: { status: 'closed' } });
			const later = new Date(Date.now() + 3_600_000).toISOString();
			const reply = await store.recordMessage(inbound(inbox.id, contact.id, { inReplyTo: [first.message.messageId], receivedAt: later }));
			expect(reply).toMatchObject({ outcome: 'existing-conversation', reopened: true, conversation: { status: 'open', lastMessageAt: later } });
			const older = await store.recordMessage(inbound(inbox.id, contact.id, { inReplyTo: [first.message.messageId], receivedAt: first.message.receivedAt }));
			expect(older.conversation.lastMessageAt).toBe(later);
		});

		it('stores a Message-ID once when concurrent callers record the same message', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('gil') });
			const input = inbound(inbox.id, contact.id);
			const results = await Promise.all(Array.from({ length: 8 }, () => store.recordMessage(input)));
			expect(results.filter((r) => r.outcome === 'new-conversation')).toHaveLength(1);
			expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(7);
			expect(new Set(results.map((r) => r.conversation.id)).size).toBe(1);
			expect((await store.listConversations({ inboxId: inbox.id })).length).toBe(1);
		});

		it('refuses an unknown contact, a contact of another inbox or an unknown conversation, creating nothing', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const other = await newInbox(store);
			const { contact: stranger } = await store.findOrCreateContact(other.id, { email: uniqueEmail('hal') });
			await expect(store.recordMessage(inbound(inbox.id, randomUUID()))).rejects.toThrow(/Unknown contact/);
			await expect(store.recordMessage(inbound(inbox.id, stranger.id))).rejects.toBeInstanceOf(InvalidInputError);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('ida') });
			await expect(store.recordMessage(inbound(inbox.id, contact.id, { direction: 'out', conversationId: randomUUID() }))).rejects.toThrow(/Unknown conversation/);
			await expect(store.recordMessage(inbound(inbox.id, contact.id, { receivedAt: 'yesterday' }))).rejects.toThrow(/receivedAt/);
			expect(await store.listConversations({ inboxId: inbox.id })).toEqual([]);
		});
	});

	describe('assignment', () => {
		it('assigns with a log entry, counts open conversations, and assigns-if-unassigned exactly once under a race', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const [a, b] = [await newAgent(store), await newAgent(store)];
			const team = await store.createTeam(`Tier 1 ${randomUUID().slice(0, 6)}`);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('jo') });
			const one = await store.recordMessage(inbound(inbox.id, contact.id));
			const two = await store.recordMessage(inbound(inbox.id, contact.id));
			const assigned = await store.assignConversation(one.conversation.id, { assigneeId: a.id, teamId: team.name, rule: 'manual', reason: 'picked by lead' });
			expect(assigned).toMatchObject({ assigneeId: a.id, teamId: team.id });
			const race = await Promise.all(
				[a, b, a, b].map((agent) => store.assignConversationIfUnassigned(two.conversation.id, { assigneeId: agent.id, teamId: null, rule: 'round-robin', reason: 'next available' })),
			);
			expect(race.filter((r) => r.assigned)).toHaveLength(1);
			const winner = race.find((r) => r.assigned)!.conversation.assigneeId;
			expect(race.every((r) => r.conversation.assigneeId === winner)).toBe(true);
			expect(await store.listAssignmentLog(two.conversation.id)).toHaveLength(1);
			expect((await store.listAssignmentLog(one.conversation.id))[0]).toMatchObject({ assigneeId: a.id, rule: 'manual', reason: 'picked by lead' });
			const counts = await store.countOpenConversations([a.id, b.id, randomUUID()]);
			expect(counts[a.id] + counts[b.id]).toBe(2);
			await store.closeConversation(one.conversation.id);
			const after = await store.countOpenConversations([a.id, b.id]);
			expect(after[a.id] + after[b.id]).toBe(1);
			expect((await store.reopenConversation(one.conversation.id)).status).toBe('open');
		});

		it('refuses an unknown assignee or team and leaves the conversation as it was', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('kim') });
			const { conversation } = await store.recordMessage(inbound(inbox.id, contact.id));
			await expect(store.assignConversation(conversation.id, { assigneeId: randomUUID(), teamId: null, rule: 'manual', reason: '' })).rejects.toThrow(/Unknown assignee agent/);
			await expect(store.assignConversation(conversation.id, { assigneeId: null, teamId: 'no such team', rule: 'manual', reason: '' })).rejects.toThrow(/Unknown team/);
			await expect(store.assignConversation(randomUUID(), { assigneeId: null, teamId: null, rule: 'manual', reason: '' })).rejects.toThrow(/Unknown conversation/);
			expect(await store.getConversation(conversation.id)).toEqual(conversation);
			expect(await store.listAssignmentLog(conversation.id)).toEqual([]);
		});

		it('picks agents round robin, evenly, also for concurrent callers; an unknown candidate consumes no turn', async () => {
			const store = getStore();
			const agents = await Promise.all(Array.from({ length: 3 }, () => newAgent(store)));
			const ids = agents.map((agent) => agent.id);
			const pool = `pool-${randomUUID()}`;
			const picks = await Promise.all(Array.from({ length: 30 }, () => store.pickNextAgent(pool, ids)));
			for (const id of ids) expect(picks.filter((pick) => pick === id)).toHaveLength(10);
			await expect(store.pickNextAgent(pool, [...ids, randomUUID()])).rejects.toThrow(/Unknown agent/);
			const next = await Promise.all(Array.from({ length: 3 }, () => store.pickNextAgent(pool, ids)));
			expect(new Set(next).size).toBe(3);
			expect(await store.pickNextAgent(pool, [])).toBeNull();
		});
	});

	describe('tickets', () => {
		it('creates one ticket per conversation, even when racing, and updates and closes it', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const owner = await newAgent(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('lee') });
			const { conversation } = await store.recordMessage(inbound(inbox.id, contact.id));
			const results = await Promise.all(
				Array.from({ length: 6 }, (_, i) => store.createTicketOnce(conversation.id, { name: `Broken box ${i}`, ownerId: owner.id, properties: { source: 'email' } })),
			);
			expect(results.filter((r) => r.created)).toHaveLength(1);
			const ticket = results.find((r) => r.created)!.ticket;
			expect(new Set(results.map((r) => r.ticket.id))).toEqual(new Set([ticket.id]));
			expect(ticket).toMatchObject({ pipeline: 'support', stage: 'New', ownerId: owner.id, closedAt: null, properties: { source: 'email' } });
			expect((await store.getTicketForConversation(conversation.id))?.id).toBe(ticket.id);

			const updated = await store.updateTicket(ticket.id, { priority: 'high', properties: { order: 1234, source: null } });
			expect(updated).toMatchObject({ priority: 'high', properties: { order: 1234 }, name: ticket.name });
			expect((await store.listTickets({ open: true })).map((t) => t.id)).toContain(ticket.id);
			const closed = await store.closeTicket(ticket.id);
			expect(closed.stage).toBe('closed');
			expect(closed.closedAt).not.toBeNull();
			expect((await store.listTickets({ open: false })).map((t) => t.id)).toContain(ticket.id);
			expect((await store.listTickets({ stage: 'closed' })).map((t) => t.id)).toContain(ticket.id);

			const reopened = await store.updateTicket(ticket.id, { stage: 'New' });
			expect(reopened).toMatchObject({ stage: 'New', closedAt: null });
			expect((await store.listTickets({ open: true })).map((t) => t.id)).toContain(ticket.id);
		});

		it('takes "Closed", however typed, as the closed stage: the ticket closes, and a filter finds it by either spelling', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const ticketOf = async (name: string) => {
				const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail(name) });
				const { conversation } = await store.recordMessage(inbound(inbox.id, contact.id));
				return conversation;
			};
			const { ticket } = await store.createTicketOnce((await ticketOf('ana')).id, { name: 'Refund' });
			const closed = await store.updateTicket(ticket.id, { stage: ' Closed ' });
			expect(closed).toMatchObject({ stage: 'closed', closedAt: expect.any(String) });
			const { ticket: bornClosed } = await store.createTicketOnce((await ticketOf('bo')).id, { name: 'Spam', stage: 'CLOSED' });
			expect(bornClosed).toMatchObject({ stage: 'closed', closedAt: expect.any(String) });
			const found = (await store.listTickets({ stage: 'Closed' })).map((t) => t.id);
			expect(found).toEqual(expect.arrayContaining([ticket.id, bornClosed.id]));
			expect((await store.listTickets({ open: true })).map((t) => t.id)).not.toContain(ticket.id);
			// Another stage keeps its spelling, trimmed.
			expect(await store.updateTicket(ticket.id, { stage: ' Waiting on contact ' })).toMatchObject({ stage: 'Waiting on contact', closedAt: null });

			// A version before kept a typed "Closed" as it was: the filter still finds it.
			const db = sqlDriverFor(getOptions());
			try {
				await db.run("UPDATE tickets SET stage = 'Closed' WHERE id = $1", [ticket.id]);
			} finally {
				await db.close();
			}
			expect((await store.listTickets({ stage: 'Closed' })).map((t) => t.id)).toEqual(expect.arrayContaining([ticket.id, bornClosed.id]));
			expect((await store.listTickets({ stage: 'closed' })).map((t) => t.id)).toContain(ticket.id);
		});

		it('refuses a ticket for a missing conversation or with an unknown owner, creating nothing', async () => {
			const store = getStore();
			const missing = randomUUID();
			await expect(store.createTicketOnce(missing, { name: 'Orphan' })).rejects.toThrow(new RegExp(`Unknown conversation: ${missing}`));
			expect(await store.getTicketForConversation(missing)).toBeNull();
			const inbox = await newInbox(store);
			const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('max') });
			const { conversation } = await store.recordMessage(inbound(inbox.id, contact.id));
			await expect(store.createTicketOnce(conversation.id, { name: 'X', ownerId: randomUUID() })).rejects.toThrow(/Unknown ticket owner/);
			expect(await store.getTicketForConversation(conversation.id)).toBeNull();
			await expect(store.updateTicket(randomUUID(), { stage: 'x' })).rejects.toThrow(/Unknown ticket/);
		});
	});

	describe('intake log', () => {
		it('keeps rejections and forwarding confirmations, newest first, filtered by kind and inbox', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const base = { inboxId: inbox.id, clientIp: '192.0.2.7', helo: 'mx.sender.test', mailFrom: 'x@sender.test', rcpt: [inbox.address], messageId: null, from: 'x@sender.test', subject: 'Hi' };
			await store.logIntake({ ...base, kind: 'rejected', at: '2026-01-01T10:00:00.000Z', details: { verdict: 'reject', reasons: ['DMARC fail'] } });
			await store.logIntake({ ...base, kind: 'forwarding-confirmation', at: '2026-01-01T11:00:00.000Z', details: { provider: 'gmail', code: '123456' } });
			const all = await store.listIntake({ inboxId: inbox.id });
			expect(all.map((e) => e.kind)).toEqual(['forwarding-confirmation', 'rejected']);
			expect(all[1]).toMatchObject({ clientIp: '192.0.2.7', rcpt: [inbox.address], details: { reasons: ['DMARC fail'] } });
			expect(await store.listIntake({ inboxId: inbox.id, kind: 'rejected', limit: 5 })).toHaveLength(1);
			await expect(store.logIntake({ ...base, kind: 'spam' as 'rejected', details: {} })).rejects.toBeInstanceOf(InvalidInputError);
		});
	});

	describe('spool, checkpoints, forwarding checks, sending domains', () => {
		it('spools raw messages until done, with backoff and a failed state', async () => {
			const store = getStore();
			const inboxId = randomUUID();
			const raw = Buffer.from('From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n');
			const entry = await store.spoolPut({ inboxId, message: bytesOf(raw), envelope: { clientIp: '127.0.0.1', helo: 'h', mailFrom: 'a@b.test', rcpt: ['s@i.test'] }, receivedAt: '2026-01-01T00:00:00.000Z' });
			const second = await store.spoolPut({ inboxId, message: bytesOf(raw), envelope: { clientIp: null, helo: null, mailFrom: null, rcpt: [] }, receivedAt: '2026-01-01T00:00:01.000Z' });
			expect((await store.spoolDue(inboxId, '2026-01-01T00:00:05.000Z')).map((e) => e.id)).toEqual([entry.id, second.id]);
			expect((await store.spoolDue(inboxId, '2026-01-01T00:00:05.000Z'))[0]).toMatchObject({ id: entry.id, size: raw.length });
			expect((await spooledRaw(store, entry.id)).equals(raw)).toBe(true);
			const failed = await store.spoolFail(entry.id, 'workflow failed', { nextAttemptAt: '2026-01-01T00:10:00.000Z', maxAttempts: 2 });
			expect(failed).toMatchObject({ attempts: 1, status: 'pending', lastError: 'workflow failed' });
			expect((await store.spoolDue(inboxId, '2026-01-01T00:05:00.000Z')).map((e) => e.id)).toEqual([second.id]);
			expect((await store.spoolFail(entry.id, 'again', { nextAttemptAt: '2026-01-01T00:20:00.000Z', maxAttempts: 2 })).status).toBe('failed');
			await store.spoolComplete(second.id);
			expect(await store.spoolDue(inboxId, '2027-01-01T00:00:00.000Z')).toEqual([]);
			expect((await store.spoolList({ inboxId, status: 'failed' })).map((e) => e.id)).toEqual([entry.id]);
			await expect(store.spoolComplete(randomUUID())).rejects.toBeInstanceOf(InvalidInputError);
			// Completed by the run that recorded it (Resolve Original Sender), then a later step failed: nothing to retry.
			await store.spoolComplete(second.id);
			expect(await store.spoolFail(second.id, 'Create Ticket failed', { nextAttemptAt: '2026-01-01T00:30:00.000Z', maxAttempts: 2 })).toMatchObject({ status: 'done', attempts: 0 });
			await expect(store.spoolFail(entry.id, 'given up already', { nextAttemptAt: '2026-01-01T00:30:00.000Z', maxAttempts: 2 })).rejects.toBeInstanceOf(InvalidInputError);
		});

		it('keeps the decision with the bytes, and holds quarantined mail until it is released once or deleted', async () => {
			const store = getStore();
			const { id: inboxId } = await newInbox(store);
			const envelope = { clientIp: '192.0.2.1', helo: 'h', mailFrom: 'a@b.test', rcpt: ['s@i.test'] };
			const decision = decisionFor('a@b.test', envelope, { action: 'quarantine', reasons: ['DMARC policy of b.test is quarantine'], flags: ['dmarc-fail'] });
			const big = Buffer.concat([Buffer.from('From: a@b.test\r\nSubject: held\r\n\r\n'), Buffer.alloc(200_000, 0x78)]);
			const held = await store.spoolPut({ inboxId, message: bytesOf(big), envelope, receivedAt: '2026-01-01T00:00:00.000Z', decision, quarantined: true });
			expect(held).toMatchObject({ status: 'quarantined', decision, released: null });
			expect(await store.spoolDue(inboxId, '2027-01-01T00:00:00.000Z')).toEqual([]);
			const [listed] = await store.listQuarantined({ inboxId });
			expect(listed).toMatchObject({ id: held.id, decision });
			expect(listed.head.length).toBeLessThan(big.length);
			expect(big.subarray(0, listed.head.length).equals(listed.head)).toBe(true);

			await expect(store.spoolComplete(held.id)).rejects.toThrow(`Unknown or quarantined spool entry: ${held.id}`);
			const released = await store.releaseQuarantined(held.id, 'ana@company.test', '2026-01-02T00:00:00.000Z');
			expect(released).toMatchObject({ status: 'pending', released: { by: 'ana@company.test', at: '2026-01-02T00:00:00.000Z' }, nextAttemptAt: '2026-01-02T00:00:00.000Z' });
			expect((await store.spoolDue(inboxId, '2026-01-02T00:00:01.000Z')).map((e) => e.id)).toEqual([held.id]);
			await expect(store.releaseQuarantined(held.id, 'bob@company.test')).rejects.toThrow(`No quarantined message with id ${held.id}`);
			await expect(store.deleteQuarantined(held.id)).rejects.toBeInstanceOf(InvalidInputError);
			expect(await store.listQuarantined({ inboxId })).toEqual([]);

			const other = await store.spoolPut({ inboxId, message: bytesOf(big), envelope, decision, quarantined: true });
			await store.deleteQuarantined(other.id);
			expect(await store.spoolGet(other.id)).toBeNull();
		});

		it('keeps the done UIDs of a mailbox and resets them on a new UIDVALIDITY', async () => {
			const store = getStore();
			const key = `imap://u@imap.test/INBOX/${randomUUID()}`;
			expect(await store.getMailboxCheckpoint(key)).toBeNull();
			await store.markUidsDone(key, '100', [3, 1]);
			expect(await store.getMailboxCheckpoint(key)).toEqual({ mailboxKey: key, uidValidity: '100', doneThrough: 1, doneUids: [3], attempts: [] });
			await store.markUidsDone(key, '100', [2, 3]);
			expect(await store.getMailboxCheckpoint(key)).toEqual({ mailboxKey: key, uidValidity: '100', doneThrough: 3, doneUids: [], attempts: [] });
			await store.markUidsDone(key, '200', [7]);
			expect(await store.getMailboxCheckpoint(key)).toEqual({ mailboxKey: key, uidValidity: '200', doneThrough: 0, doneUids: [7], attempts: [] });
			// Everything at or below doneThrough is done, gaps included (messages gone for good).
			await store.markUidsDone(key, '200', [9], 5);
			expect(await store.getMailboxCheckpoint(key)).toMatchObject({ doneThrough: 5, doneUids: [7, 9] });
			await store.markUidsDone(key, '200', [6, 8]);
			expect(await store.getMailboxCheckpoint(key)).toMatchObject({ doneThrough: 9, doneUids: [] });
			await expect(store.markUidsDone(key, '200', [0])).rejects.toBeInstanceOf(InvalidInputError);
			await expect(store.markUidsDone(key, '200', [], -1)).rejects.toBeInstanceOf(InvalidInputError);
		});

		it('keeps the done-UID ledger small: only the done UIDs above the run from the low-water mark', async () => {
			const store = getStore();
			const key = `imap://u@imap.test/INBOX/${randomUUID()}`;
			// 3000 UIDs done in shuffled batches of 100, as parallel processing finishes them; 1501 stays out until the end.
			const uids = Array.from({ length: 3000 }, (_, i) => i + 1).filter((uid) => uid !== 1501);
			for (let i = uids.length - 1; i > 0; i--) {
				const j = (i * 7919) % (i + 1);
				[uids[i], uids[j]] = [uids[j], uids[i]];
			}
			for (let i = 0; i < uids.length; i += 100) await store.markUidsDone(key, '1', uids.slice(i, i + 100));
			const held = await store.getMailboxCheckpoint(key);
			expect(held?.doneThrough).toBe(1500);
			expect(held?.doneUids).toEqual(Array.from({ length: 1499 }, (_, i) => 1502 + i));
			await store.markUidsDone(key, '1', [1501]);
			expect(await store.getMailboxCheckpoint(key)).toMatchObject({ doneThrough: 3000, doneUids: [] });
		});

		it('keeps the failed attempts per message until it is done, flagged or the mailbox renumbered', async () => {
			const store = getStore();
			const key = `imap://u@imap.test/INBOX/${randomUUID()}`;
			await store.markUidsDone(key, '100', [1]);
			await store.setMailboxAttempts(key, '100', 5, 1);
			await store.setMailboxAttempts(key, '100', 5, 2);
			await store.setMailboxAttempts(key, '100', 8, 1);
			await store.setMailboxAttempts(key, '100', 9, 3);
			// Under an old numbering the count would name another message: ignored.
			await store.setMailboxAttempts(key, '99', 6, 1);
			expect((await store.getMailboxCheckpoint(key))?.attempts).toEqual([
				{ uid: 5, attempts: 2 },
				{ uid: 8, attempts: 1 },
				{ uid: 9, attempts: 3 },
			]);
			await store.markUidsDone(key, '100', [5]);
			await store.clearMailboxAttempts(key, '100', [9]);
			expect((await store.getMailboxCheckpoint(key))?.attempts).toEqual([{ uid: 8, attempts: 1 }]);
			await store.markUidsDone(key, '200', []);
			expect((await store.getMailboxCheckpoint(key))?.attempts).toEqual([]);
			await expect(store.setMailboxAttempts(key, '200', 3, 0)).rejects.toBeInstanceOf(InvalidInputError);
		});

		it('verifies a forwarding check once, before its deadline only', async () => {
			const store = getStore();
			const inbox = await newInbox(store);
			const soon = new Date(Date.now() + 60_000).toISOString();
			const check = await store.createForwardingCheck({ inboxId: inbox.id, publicAddress: 'help@company.example.test', token: randomUUID(), deadline: soon });
			expect(check.status).toBe('waiting');
			const verified = await store.completeForwardingCheck(check.token, { chain: ['mx.company.example.test'] });
			expect(verified).toMatchObject({ status: 'verified', evidence: { chain: ['mx.company.example.test'] } });
			expect(await store.completeForwardingCheck(check.token, {})).toBeNull();
			const late = await store.createForwardingCheck({ inboxId: inbox.id, publicAddress: 'help@company.example.test', token: randomUUID(), deadline: soon });
			expect(await store.completeForwardingCheck(late.token, {}, new Date(Date.now() + 120_000).toISOString())).toBeNull();
			const expired = await store.createForwardingCheck({ inboxId: inbox.id, publicAddress: 'help@company.example.test', token: randomUUID(), deadline: new Date(Date.now() - 1000).toISOString() });
			const latest = await store.latestForwardingChecks(inbox.id);
			expect(latest).toHaveLength(1);
			expect(latest[0]).toMatchObject({ id: expired.id, status: 'failed' });
		});

		it('keeps sending domains; a new key must be verified again', async () => {
			const store = getStore();
			const domain = `mail-${randomUUID().slice(0, 8)}.example.test`;
			await store.upsertSendingDomain({ domain: domain.toUpperCase(), selector: 's1', publicKey: 'AAA' });
			const verified = await store.setSendingDomainVerified(domain, true, { dkim: 'found' });
			expect(verified).toMatchObject({ domain, verified: true, lastCheck: { dkim: 'found' } });
			expect((await store.upsertSendingDomain({ domain, selector: 's1', publicKey: 'AAA' })).verified).toBe(true);
			const rotated = await store.upsertSendingDomain({ domain, selector: 's2', publicKey: 'BBB' });
			expect(rotated).toMatchObject({ verified: false, verifiedAt: null, selector: 's2' });
			await expect(store.setSendingDomainVerified(`x${domain}`, true, {})).rejects.toThrow(/Unknown sending domain/);
		});
	});
});
