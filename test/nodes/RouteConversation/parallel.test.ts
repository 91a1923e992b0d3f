import type { IDataObject } from 'n8n-workflow';

import type { Agent } from '../../../core/store/types';
import { intakeItem } from '../../support/items';
import { runWorkflow } from '../../support/n8n-engine';
import { describeEachNodeStore } from '../../support/nodeStores';
import { pipelineWorkflow, PIPELINE_NODE_TYPES } from '../../support/pipeline';

const EXECUTIONS = 4;
const PER_EXECUTION = 100;

describeEachNodeStore(
	'4 parallel executions routing 400 new conversations over 4 agents',
	(get) => {
		it('gives each agent 100 +/- 1 and never assigns a conversation twice', async () => {
			const { store, credentials } = get();
			const inbox = await store.registerInbox({ address: 'parallel@inbox.hosted.test' });
			const agents: Agent[] = [];
			for (const name of ['ana', 'bea', 'cai', 'dan']) {
				const agent = await store.createAgent({ email: `${name}.parallel@company.test`, firstName: name, fullName: `${name} Parallel` });
				await store.addInboxAgent(inbox.id, agent.id);
				agents.push(agent);
			}
			const workflow = pipelineWorkflow(get(), { route: { autoAssign: true, users: agents.map((a) => a.id) } }, 'route');
			const batches = Array.from({ length: EXECUTIONS }, (_, e) =>
				Array.from({ length: PER_EXECUTION }, (_, i) => intakeItem({ inbox: inbox.address, from: `c${e}-${i}@example.test` }) as unknown as IDataObject),
			);
			const results = await Promise.all(batches.map((items) => runWorkflow(workflow, { nodeTypes: PIPELINE_NODE_TYPES, inputItems: items, credentials })));
			for (const result of results) expect(result.error).toBeUndefined();

			const assigned = results.flatMap((result) => result.json('Route Conversation', 0));
			expect(assigned).toHaveLength(EXECUTIONS * PER_EXECUTION);
			const conversationIds = new Set(assigned.map((item) => (item.conversation as IDataObject).id));
			expect(conversationIds.size).toBe(EXECUTIONS * PER_EXECUTION);

			const conversations = await store.listConversations({ inboxId: inbox.id });
			expect(conversations).toHaveLength(EXECUTIONS * PER_EXECUTION);
			const perAgent = Object.fromEntries(agents.map((a) => [a.email, conversations.filter((c) => c.assigneeId === a.id).length]));
			for (const count of Object.values(perAgent)) expect(Math.abs(count - 100)).toBeLessThanOrEqual(1);
			process.stdout.write(`  per agent: ${JSON.stringify(perAgent)}\n`);

			const logs = await Promise.all(conversations.map((c) => store.listAssignmentLog(c.id)));
			expect(logs.filter((log) => log.length !== 1)).toEqual([]);
		}, 300_000); // 400 routings in 4 parallel n8n executions
	},
);
