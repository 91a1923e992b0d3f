import { resolveOriginalSender } from '../../../core/conversation/resolve';
import type { TicketItem } from '../../../core/item';
import { createTicket, createTicketForItem } from '../../../core/tickets/ticket';
import type { Store } from '../../../core/store/roles';
import { intakeItem, type IntakeItemInput } from '../../support/items';
import { describeEachStore } from '../../support/stores';

describeEachStore('createTicket', (getStore) => {
	let n = 0;
	async function conversation(store: Store, input: IntakeItemInput = {}) {
		n += 1;
		const { address } = await store.registerInbox({ address: `ticket${n}@inbox.hosted.test` });
		const outcome = await resolveOriginalSender(store, intakeItem({ inbox: address, ...input }));
		if (outcome.status !== 'resolved') throw new Error('not resolved');
		return outcome.part.conversation;
	}

	it('creates one ticket with the defaults: subject as name, stage New, owner = assignee', async () => {
		const store = getStore();
		const agent = await store.createAgent({ email: `owner${n}@company.test`, firstName: 'O', fullName: 'O Wner' });
		const conv = await conversation(store, { subject: 'Printer on fire' });
		const { ticket, created } = await createTicket(store, conv.id, { subject: 'Printer on fire', assigneeId: agent.id, conversationReopened: false });
		expect(created).toBe(true);
		expect(ticket).toMatchObject({ name: 'Printer on fire', stage: 'New', ownerId: agent.id, priority: null, properties: {}, closedAt: null });
	});

	it('names a ticket without subject "(no subject)"', async () => {
		const store = getStore();
		const conv = await conversation(store, { subject: '' });
		expect((await createTicket(store, conv.id, { subject: '  ', assigneeId: null, conversationReopened: false })).ticket.name).toBe('(no subject)');
	});

	it('takes the properties given, with an owner by email', async () => {
		const store = getStore();
		const agent = await store.createAgent({ email: `lead${n}@company.test`, firstName: 'L', fullName: 'L Ead' });
		const conv = await conversation(store);
		const { ticket } = await createTicket(store, conv.id, { subject: 's', assigneeId: null, conversationReopened: false }, {
			name: 'VIP: s',
			pipeline: 'Escalations',
			stage: 'Waiting on us',
			priority: 'High',
			owner: agent.email,
			properties: { tier: 'gold', seats: 12 },
		});
		expect(ticket).toMatchObject({ name: 'VIP: s', pipeline: 'Escalations', stage: 'Waiting on us', priority: 'High', ownerId: agent.id, properties: { tier: 'gold', seats: 12 } });
		await expect(createTicket(store, (await conversation(store)).id, { subject: 's', assigneeId: null, conversationReopened: false }, { owner: 'ghost@company.test' })).rejects.toThrow(
			'Ticket owner "ghost@company.test" is not an agent in the store',
		);
	});

	it('returns the existing ticket for a reply or replay, and moves it back to an open stage when a reply reopens', async () => {
		const store = getStore();
		const conv = await conversation(store);
		const context = { subject: 'first', assigneeId: null, conversationReopened: false };
		const first = await createTicket(store, conv.id, context);
		const again = await createTicket(store, conv.id, { ...context, subject: 'Re: first' }, { name: 'other' });
		expect(again).toEqual({ ticket: first.ticket, created: false, reopened: false });
		expect(await store.listTickets()).toEqual(expect.arrayContaining([first.ticket]));

		await store.closeTicket(first.ticket.id);
		const reopened = await createTicket(store, conv.id, { ...context, conversationReopened: true }, { reopenStage: 'Waiting on us' });
		expect(reopened).toMatchObject({ created: false, reopened: true, ticket: { id: first.ticket.id, stage: 'Waiting on us', closedAt: null } });
	});

	it('moves a closed ticket back when the reply that reopened its conversation comes again as a replay (its first run failed before Create Ticket)', async () => {
		const store = getStore();
		n += 1;
		const { address } = await store.registerInbox({ address: `ticket${n}@inbox.hosted.test` });
		const asked = async (item: ReturnType<typeof intakeItem>): Promise<TicketItem> => {
			const outcome = await resolveOriginalSender(store, item);
			if (outcome.status !== 'resolved') throw new Error('not resolved');
			return { ...item, ...outcome.part };
		};
		const asking = intakeItem({ inbox: address, from: 'zoe@customer.test', messageId: `q${n}@customer.test` });
		const question = await asked(asking);
		const { ticket } = await createTicketForItem(store, question);
		await store.closeTicket(ticket.id);
		await store.closeConversation(question.conversation.id);
		// Received a second after the closing (the store's clock may run a few milliseconds ahead of the wall clock).
		const closedAt = (await store.getTicket(ticket.id))!.closedAt!;
		const reply = intakeItem({ inbox: address, from: 'zoe@customer.test', inReplyTo: [`q${n}@customer.test`], receivedAt: new Date(Date.parse(closedAt) + 1000).toISOString() });
		expect((await asked(reply)).conversation.reopened).toBe(true);
		const replay = await asked(reply);
		expect(replay).toMatchObject({ replay: true, conversation: { reopened: false, status: 'open' } });
		// A replay of the question, received before the ticket was closed, leaves it closed.
		const questionAgain = await asked(asking);
		expect(questionAgain).toMatchObject({ replay: true, conversation: { status: 'open' } });
		expect(await createTicketForItem(store, questionAgain)).toMatchObject({ reopened: false, ticket: { stage: 'closed' } });
		expect(await createTicketForItem(store, replay)).toMatchObject({ created: false, reopened: true, ticket: { id: ticket.id, closedAt: null } });
	});

	it('makes a ticket in the closed stage closed from the start', async () => {
		const store = getStore();
		const conv = await conversation(store);
		const { ticket } = await createTicket(store, conv.id, { subject: 's', assigneeId: null, conversationReopened: false }, { stage: 'closed' });
		expect(ticket.closedAt).not.toBeNull();
		expect((await store.listTickets({ open: true })).map((t) => t.id)).not.toContain(ticket.id);
	});

	describe("an item's owner and conversation, which nodes upstream (or an expression) may have changed", () => {
		async function resolvedItem(store: Store): Promise<TicketItem> {
			n += 1;
			const { address } = await store.registerInbox({ address: `ticket-item${n}@inbox.hosted.test` });
			const item = intakeItem({ inbox: address, from: `jane${n}@customer.test` });
			const outcome = await resolveOriginalSender(store, item);
			if (outcome.status !== 'resolved') throw new Error('not resolved');
			return { ...item, ...outcome.part } as TicketItem;
		}
		async function agentWhoLeft(store: Store) {
			const agent = await store.createAgent({ email: `left${n}@company.test`, firstName: 'L', fullName: 'Left Agent' });
			return await store.updateAgent(agent.id, { active: false });
		}

		it('gives a new ticket no deactivated owner: one named by the Owner option falls back to the assignee, else nobody', async () => {
			const store = getStore();
			const gone = await agentWhoLeft(store);
			const assignee = await store.createAgent({ email: `assignee${n}@company.test`, firstName: 'A', fullName: 'An Assignee' });
			const item = await resolvedItem(store);
			expect((await createTicketForItem(store, item, { owner: gone.email })).ticket.ownerId).toBeNull();
			const routed: TicketItem = { ...(await resolvedItem(store)), assignment: { assignee: { id: assignee.id, email: assignee.email, fullName: assignee.fullName }, team: null, rule: 'round-robin', reason: '' } };
			expect((await createTicketForItem(store, routed, { owner: gone.id })).ticket.ownerId).toBe(assignee.id);
		});

		it("gives a new ticket no deactivated owner through the item's assignment", async () => {
			const store = getStore();
			const gone = await agentWhoLeft(store);
			const item = await resolvedItem(store);
			const crafted: TicketItem = { ...item, assignment: { assignee: { id: gone.id, email: gone.email, fullName: gone.fullName }, team: null, rule: 'round-robin', reason: '' } };
			expect((await createTicketForItem(store, crafted)).ticket.ownerId).toBeNull();
		});

		it("makes no ticket on another inbox's conversation for an item of this inbox", async () => {
			const store = getStore();
			const mine = await resolvedItem(store);
			const theirs = await resolvedItem(store);
			const crafted: TicketItem = { ...mine, conversation: { ...mine.conversation, id: theirs.conversation.id } };
			await expect(createTicketForItem(store, crafted, { name: 'planted' })).rejects.toThrow(`Conversation ${theirs.conversation.id} belongs to another inbox than the item's (${mine.inbox.address})`);
			expect(await store.getTicketForConversation(theirs.conversation.id)).toBeNull();
		});
	});
});
