/**
 * The one continue-on-fail policy of nodes/shared/items.ts, inside n8n's engine: a failed item is
 * `{ error }` paired with its input on the first output, and n8n moves it to the error output when asked.
 */
import type { IDataObject, INode } from 'n8n-workflow';

import { intakeItem } from '../../support/items';
import { runWorkflow, type WorkflowJson } from '../../support/n8n-engine';
import { describeEachNodeStore } from '../../support/nodeStores';
import { PIPELINE_NODE_TYPES } from '../../support/pipeline';

const NOT_RESOLVED = 'Expected an item from Resolve Original Sender, but the item does not fit: missing field "contact"; missing field "conversation"; missing field "message"; missing field "replay"';

describeEachNodeStore('Continue on fail, one way for every node', (get) => {
	/** Start -> Route Conversation, fed a trigger item that did not go through Resolve Original Sender. */
	function run(onError: INode['onError'], item: IDataObject = intakeItem() as unknown as IDataObject) {
		const json: WorkflowJson = {
			nodes: [
				{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
				{ name: 'Route', type: 'n8n-nodes-hosted-inbox.routeConversation', parameters: get().params, credentials: get().nodeCredentials, onError },
			],
			connections: { Start: { main: [[{ node: 'Route', type: 'main', index: 0 }]] } },
		};
		return runWorkflow(json, { nodeTypes: PIPELINE_NODE_TYPES, inputItems: [item], credentials: get().credentials });
	}

	it('stops the run, naming the item, by default', async () => {
		const result = await run(undefined);
		expect(result.status).toBe('error');
		expect(result.nodeError('Route')).toMatchObject({ name: 'NodeOperationError', message: NOT_RESOLVED, context: { itemIndex: 0 } });
	});

	it('puts { error } paired with its item on the first output when set to continue', async () => {
		const result = await run('continueRegularOutput');
		expect(result.status).toBe('success');
		expect(result.items('Route', 0)).toEqual([{ json: { error: NOT_RESOLVED }, pairedItem: { item: 0 } }]);
		expect(result.json('Route', 1)).toEqual([]);
	});

	it('sends it to the error output, joined with the input item, when set to continue using the error output', async () => {
		const item = intakeItem() as unknown as IDataObject;
		const result = await run('continueErrorOutput', item);
		expect(result.status).toBe('success');
		expect(result.json('Route', 0)).toEqual([]);
		expect(result.json('Route', 1)).toEqual([]);
		expect(result.json('Route', 2)).toEqual([{ ...item, error: NOT_RESOLVED }]);
	});
});
