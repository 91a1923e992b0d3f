import type { IDataObject } from 'n8n-workflow';

import type { Agent } from '../../../core/store/types';
import { intakeItem, manualForwardItem } from '../../support/items';
import { runWorkflow, type RunResult } from '../../support/n8n-engine';
import { describeEachNodeStore } from '../../support/nodeStores';
import { pipelineWorkflow, PIPELINE_NODE_TYPES, type PipelineParams } from '../../support/pipeline';

/** Create Ticket runs once per Route output that had items: gather every run. */
function all(result: RunResult, node: string, output = 0): IDataObject[] {
	return (result.outputs[node] ?? []).flatMap((run) => run[output] ?? []).map((item) => item.json);
}

describeEachNodeStore('trigger -> Resolve Original Sender -> Route Conversation -> Create Ticket in n8n', (get) => {
	let n = 0;
	async function setup() {
		const { store } = get();
		n += 1;
		const inbox = await store.registerInbox({ address: `flow${n}@inbox.hosted.test` });
		const agents: Agent[] = [];
		for (const name of ['ana', 'bea', 'cai']) {
			const agent = await store.createAgent({ email: `${name}.flow${n}@company.test`, firstName: name, fullName: `${name} Flow` });
			await store.addInboxAgent(inbox.id, agent.id);
			agents.push(agent);
		}
		const run = (items: IDataObject[], params: PipelineParams = {}, upTo?: 'resolve' | 'route' | 'ticket') =>
			runWorkflow(pipelineWorkflow(get(), params, upTo), { nodeTypes: PIPELINE_NODE_TYPES, inputItems: items, credentials: get().credentials });
		return { store, inbox, agents, run };
	}
	const roundRobin = (agents: Agent[]): PipelineParams['route'] => ({ autoAssign: true, users: agents.map((a) => a.id) });

	it('runs the defaults: contact of the original author, unassigned, a ticket named after the subject in stage New', async () => {
		const { store, inbox, run } = await setup();
		const item = manualForwardItem('author@customer.test', 'ana@company.test', { inbox: inbox.address, subject: 'Fwd: invoice 42' });
		const result = await run([item as unknown as IDataObject]);
		expect(result.error).toBeUndefined();
		expect(result.json('Route Conversation', 0)).toEqual([]);
		const [out] = all(result, 'Create Ticket');
		expect(out).toMatchObject({
			contact: { email: 'author@customer.test', created: true },
			conversation: { isNew: true, assigneeId: null },
			assignment: { assignee: null, rule: 'off', reason: 'automatic assignment is off; left unassigned' },
			ticket: { name: 'Fwd: invoice 42', stage: 'New', ownerId: null, created: true },
			replay: false,
		});
		// The item keeps what the trigger put in it.
		expect(out.email).toEqual(item.email);
		expect(await store.getTicketForConversation((out.conversation as IDataObject).id as string)).toMatchObject({ name: 'Fwd: invoice 42' });
	});

	it('routes round robin on the Assigned output, the ticket owned by the assignee', async () => {
		const { agents, inbox, run } = await setup();
		const result = await run([1, 2, 3, 4].map((i) => intakeItem({ inbox: inbox.address, from: `c${i}.${n}@example.test` }) as unknown as IDataObject), {
			route: roundRobin(agents.slice(0, 2)),
		});
		const tickets = all(result, 'Create Ticket');
		expect(tickets).toHaveLength(4);
		const owners = tickets.map((t) => (t.ticket as IDataObject).ownerId);
		expect(owners).toEqual(tickets.map((t) => ((t.assignment as IDataObject).assignee as IDataObject).id));
		expect(owners.filter((o) => o === agents[0].id)).toHaveLength(2);
		expect(result.json('Route Conversation', 0)).toHaveLength(4);
	});

	it('sends conversations to Unassigned with the reason when everyone is away', async () => {
		const { store, agents, inbox, run } = await setup();
		for (const agent of agents) await store.updateAgent(agent.id, { availability: 'away' });
		const result = await run([intakeItem({ inbox: inbox.address }) as unknown as IDataObject], { route: roundRobin(agents) });
		const [unassigned] = result.json('Route Conversation', 1);
		expect((unassigned.assignment as IDataObject).reason).toMatch(/^no one is available among .* is away\); left unassigned$/);
		expect(result.json('Route Conversation', 0)).toEqual([]);
	});

	it('takes users from an expression (emails) and ticket properties from expressions', async () => {
		const { agents, inbox, run } = await setup();
		const item = intakeItem({ inbox: inbox.address, from: `vip${n}@bigcorp.test`, subject: 'Outage' });
		const result = await run([item as unknown as IDataObject], {
			route: { autoAssign: true, users: `={{ "${agents[2].email}, " + "${agents[1].email}" }}` },
			ticket: {
				ticketName: '={{ "[" + $json.contact.email.split("@")[1] + "] " + $json.email.subject }}',
				priority: '={{ $json.email.subject === "Outage" ? "Urgent" : "Low" }}',
				owner: { __rl: true, mode: 'id', value: agents[0].email },
				customProperties: {
					property: [
						{ name: 'source', value: '={{ $json.via }}' },
						{ name: 'routedBy', value: '={{ $json.assignment.rule }}' },
					],
				},
			},
		});
		expect(result.error).toBeUndefined();
		const [out] = all(result, 'Create Ticket');
		expect([agents[1].id, agents[2].id]).toContain(((out.assignment as IDataObject).assignee as IDataObject).id);
		expect(out.ticket).toMatchObject({ name: '[bigcorp.test] Outage', priority: 'Urgent', ownerId: agents[0].id, properties: { source: 'smtp', routedBy: 'round-robin' } });
	});

	it('passes items through untouched when tickets are off', async () => {
		const { store, inbox, run } = await setup();
		const result = await run([intakeItem({ inbox: inbox.address }) as unknown as IDataObject], { ticket: { createTicket: false } });
		const [out] = all(result, 'Create Ticket');
		expect(out.ticket).toBeUndefined();
		expect(out).toEqual(all(result, 'Route Conversation', 1)[0]);
		expect(await store.getTicketForConversation((out.conversation as IDataObject).id as string)).toBeNull();
	});

	it('a replayed message creates no second ticket and keeps its assignment', async () => {
		const { store, agents, inbox, run } = await setup();
		const item = intakeItem({ inbox: inbox.address }) as unknown as IDataObject;
		const params = { route: roundRobin(agents) };
		const first = all(await run([item], params), 'Create Ticket')[0];
		const again = all(await run([item], params), 'Create Ticket')[0];
		expect(again).toMatchObject({ replay: true, assignment: { rule: 'sticky', assignee: (first.assignment as IDataObject).assignee }, ticket: { id: (first.ticket as IDataObject).id, created: false } });
		const conversationId = (first.conversation as IDataObject).id as string;
		expect(await store.listAssignmentLog(conversationId)).toHaveLength(1);
		expect(await store.listMessages(conversationId)).toHaveLength(1);
	});

	it('a message whose first run died after Resolve gets its assignment and ticket on the replay', async () => {
		const { store, agents, inbox, run } = await setup();
		const item = intakeItem({ inbox: inbox.address }) as unknown as IDataObject;
		const died = await run([item], {}, 'resolve');
		const conversationId = (died.json('Resolve Original Sender')[0].conversation as IDataObject).id as string;
		expect(await store.getTicketForConversation(conversationId)).toBeNull();

		const replay = all(await run([item], { route: roundRobin(agents) }), 'Create Ticket')[0];
		expect(replay).toMatchObject({ replay: true, conversation: { id: conversationId, isNew: true }, ticket: { created: true } });
		expect(((replay.assignment as IDataObject).assignee as IDataObject).id).toBe((await store.getConversation(conversationId))?.assigneeId);
		expect(await store.getTicketForConversation(conversationId)).toMatchObject({ ownerId: (await store.getConversation(conversationId))?.assigneeId });
	});

	it('a reply to a closed conversation reopens it, keeps the assignee and moves the ticket back to an open stage', async () => {
		const { store, agents, inbox, run } = await setup();
		const first = intakeItem({ inbox: inbox.address, from: `loyal${n}@example.test` });
		const params: PipelineParams = { route: roundRobin(agents), ticket: { reopenStage: 'Waiting on us' } };
		const out = all(await run([first as unknown as IDataObject], params), 'Create Ticket')[0];
		const conversationId = (out.conversation as IDataObject).id as string;
		await store.closeConversation(conversationId);
		await store.closeTicket((out.ticket as IDataObject).id as string);

		const reply = intakeItem({ inbox: inbox.address, from: `loyal${n}@example.test`, inReplyTo: [first.thread.messageId!] });
		const after = all(await run([reply as unknown as IDataObject], params), 'Create Ticket')[0];
		expect(after).toMatchObject({
			conversation: { id: conversationId, status: 'open', reopened: true, isNew: false },
			assignment: { rule: 'sticky', assignee: (out.assignment as IDataObject).assignee },
			ticket: { id: (out.ticket as IDataObject).id, stage: 'Waiting on us', created: false, reopened: true },
		});
	});
});
