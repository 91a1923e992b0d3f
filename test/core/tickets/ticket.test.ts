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
});
