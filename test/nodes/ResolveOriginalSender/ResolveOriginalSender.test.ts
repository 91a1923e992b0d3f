import type { IDataObject, ILoadOptionsFunctions, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { getAgents, getTeams, searchAgents } from '../../../nodes/shared/agentPickers';
import { corpus, corpusItem, googleGroupsItem, intakeItem, manualForwardItem } from '../../support/items';
import { runWorkflow } from '../../support/n8n-engine';
import { describeEachNodeStore } from '../../support/nodeStores';
import { pipelineWorkflow, PIPELINE_NODE_TYPES } from '../../support/pipeline';

describeEachNodeStore('Resolve Original Sender in n8n', (get) => {
	let n = 0;
	/** A new inbox, registered as its trigger registers it. */
	const address = async () => (await get().store.registerInbox({ address: `nodes${++n}@inbox.hosted.test` })).address;
	const run = (items: Array<IDataObject | INodeExecutionData>, resolve: INodeParameters = {}, upTo: 'resolve' | 'route' = 'resolve') =>
		runWorkflow(pipelineWorkflow(get(), { resolve }, upTo), { nodeTypes: PIPELINE_NODE_TYPES, inputItems: items as IDataObject[], credentials: get().credentials });

	it('files a Google Groups message and an agent manual forward under the original authors', async () => {
		const inbox = await address();
		const result = await run([
			googleGroupsItem('jane@example.com', 'acme_group@googlegroups.com', true, { inbox }) as unknown as IDataObject,
			manualForwardItem('author@customer.test', 'ana@company.test', { inbox }) as unknown as IDataObject,
		]);
		expect(result.json('Resolve Original Sender').map((item) => (item.contact as IDataObject).email)).toEqual(['jane@example.com', 'author@customer.test']);
		const contacts = await get().store.listContacts((await get().store.getInbox(inbox))!.id);
		expect(contacts.map((c) => c.email).sort()).toEqual(['author@customer.test', 'jane@example.com']);
	});

	it('keeps the binary attachments and every field of the item', async () => {
		const item = intakeItem({ inbox: await address() });
		const binary = { attachment_0: { data: Buffer.from('%PDF-1.4 invoice').toString('base64'), mimeType: 'application/pdf', fileName: 'invoice.pdf' } };
		const result = await run([{ json: item as unknown as IDataObject, binary }]);
		const [out] = result.items('Resolve Original Sender');
		expect(out.binary?.attachment_0).toMatchObject({ mimeType: 'application/pdf', fileName: 'invoice.pdf' });
		expect(out.json).toMatchObject({ ...item, replay: false });
	});

	it('sends an unknown sender to the Unknown Sender output when contacts are not created', async () => {
		const result = await run([intakeItem({ inbox: await address(), from: 'stranger@example.test' }) as unknown as IDataObject], { createMissingContacts: false });
		expect(result.json('Resolve Original Sender', 0)).toEqual([]);
		expect(result.json('Resolve Original Sender', 1)[0].unknownSender).toEqual({
			address: 'stranger@example.test',
			reason: 'stranger@example.test is not a contact and "Create missing contacts" is off; nothing was recorded',
		});
	});

	it('flags an untrusted original sender, or keeps the outer sender when set to', async () => {
		const inbox = await address();
		const untrusted = googleGroupsItem('mallory@example.com', 'open@googlegroups.com', false, { inbox }) as unknown as IDataObject;
		const flagged = (await run([untrusted])).json('Resolve Original Sender')[0].contact as IDataObject;
		expect(flagged).toMatchObject({ email: 'mallory@example.com', flagged: true });
		const outer = googleGroupsItem('mallory@example.com', 'open@googlegroups.com', false, { inbox }) as unknown as IDataObject;
		const kept = (await run([outer], { untrustedSender: 'keepOuterSender' })).json('Resolve Original Sender')[0].contact as IDataObject;
		expect(kept).toMatchObject({ email: 'open@googlegroups.com', flagged: false });
	});

	it('creates Cc contacts when asked', async () => {
		const result = await run([intakeItem({ inbox: await address(), cc: ['partner@vendor.test'] }) as unknown as IDataObject], { createCcContacts: true });
		expect(result.json('Resolve Original Sender')[0].ccContacts).toEqual([expect.objectContaining({ email: 'partner@vendor.test', created: true })]);
	});

	it('gives a node error naming the missing fields when wired to something else', async () => {
		const result = await run([{ hello: 'world' }]);
		expect(result.status).toBe('error');
		expect(result.nodeError('Resolve Original Sender')).toMatchObject({ name: 'NodeOperationError', context: { itemIndex: 0 } });
		expect(result.nodeError('Resolve Original Sender')?.message).toMatch(/^Expected a Message item from the Hosted Inbox trigger, but the item does not fit: missing field "inbox"; .*missing field "originalSender"/);
	});

	it('Route Conversation names the missing part when placed before Resolve Original Sender', async () => {
		const json = { nodes: [{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} }, { name: 'Route', type: 'n8n-nodes-hosted-inbox.routeConversation', parameters: get().params, credentials: get().nodeCredentials }], connections: { Start: { main: [[{ node: 'Route', type: 'main' as const, index: 0 }]] } } };
		const result = await runWorkflow(json, { nodeTypes: PIPELINE_NODE_TYPES, inputItems: [intakeItem() as unknown as IDataObject], credentials: get().credentials });
		expect(result.nodeError('Route')?.message).toBe(
			'Expected an item from Resolve Original Sender, but the item does not fit: missing field "contact"; missing field "conversation"; missing field "message"; missing field "replay"',
		);
	});

	it("Route Conversation refuses an item naming another inbox's conversation (changed upstream), and routes nothing", async () => {
		const [mine, theirs] = [await address(), await address()];
		const resolved = await run([intakeItem({ inbox: mine }), intakeItem({ inbox: theirs })] as unknown as IDataObject[]);
		const [item, other] = resolved.json('Resolve Original Sender');
		const crafted = { ...item, conversation: { ...(item.conversation as IDataObject), id: (other.conversation as IDataObject).id } };
		const json = { nodes: [{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} }, { name: 'Route', type: 'n8n-nodes-hosted-inbox.routeConversation', parameters: { ...get().params, autoAssign: true }, credentials: get().nodeCredentials }], connections: { Start: { main: [[{ node: 'Route', type: 'main' as const, index: 0 }]] } } };
		const result = await runWorkflow(json, { nodeTypes: PIPELINE_NODE_TYPES, inputItems: [crafted], credentials: get().credentials });
		expect(result.nodeError('Route')?.message).toBe(`Conversation ${(other.conversation as IDataObject).id} belongs to another inbox than the item's (${mine})`);
		expect((await get().store.getConversation(String((other.conversation as IDataObject).id)))?.assigneeId).toBeNull();
	});

	it('lists agents and teams for the pickers from the store', async () => {
		const { store, params, credentials } = get();
		const agent = await store.createAgent({ email: `picker${n}@company.test`, firstName: 'Pia', fullName: 'Pia Picker' });
		const team = await store.createTeam(`Pickers ${n}`);
		await store.addTeamMember(team.id, agent.id);
		// The load-options context n8n gives: node parameters and credentials.
		const context = {
			getNodeParameter: (name: string, fallback: unknown) => (name in params ? params[name] : fallback),
			getCredentials: async (type: string) => credentials[type],
		} as unknown as ILoadOptionsFunctions;
		expect(await getAgents.call(context)).toEqual(expect.arrayContaining([{ name: `Pia Picker <${agent.email}>`, value: agent.id, description: 'available' }]));
		expect(await getTeams.call(context)).toEqual(expect.arrayContaining([{ name: team.name, value: team.id, description: '1 member(s)' }]));
		expect((await searchAgents.call(context, 'pia pick')).results).toEqual([{ name: `Pia Picker <${agent.email}>`, value: agent.id }]);
	});
});

describeEachNodeStore('Resolve Original Sender on real intake output (shared corpus)', (get) => {
	corpus.it('files a Google Groups email and an agent manual forward under the original authors', async () => {
		const { address: inbox } = await get().store.registerInbox({ address: 'corpus@inbox.hosted.test' });
		const group = await corpusItem('chatwoot/group_sender_support.eml', inbox);
		const forward = await corpusItem('crisp-forwards/apple_mail_en_body.eml', inbox);
		expect([group.originalSender.method, forward.originalSender.method]).toEqual(['list-rewrite', 'inline-forward']);
		const result = await runWorkflow(pipelineWorkflow(get(), {}), {
			nodeTypes: PIPELINE_NODE_TYPES,
			inputItems: [group, forward] as unknown as IDataObject[],
			credentials: get().credentials,
		});
		expect(result.error).toBeUndefined();
		const out = (result.outputs['Create Ticket'] ?? []).flatMap((run) => run[0]).map((item) => item.json);
		expect(out.map((item) => (item.contact as IDataObject).email)).toEqual(['jane@example.com', 'john.doe@acme.com']);
		// The list message is not signed in the corpus (empty DNS): the poster is filed, flagged, as the default says.
		expect((out[0].contact as IDataObject).flagged).toBe(!group.originalSender.trusted);
		expect((out[1].contact as IDataObject).flagged).toBe(false);
		expect(out.map((item) => (item.ticket as IDataObject).created)).toEqual([true, true]);
	});
});
