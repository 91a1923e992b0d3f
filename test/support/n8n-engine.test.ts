import { NodeOperationError, type IDataObject, type INodeParameters, type INodeType, type IPollFunctions, type IRun, type ITriggerFunctions } from 'n8n-workflow';

import { codeNode, runWorkflow, startTrigger, useFilesystemBinaryData, type WorkflowJson } from './n8n-engine';

/** An action node that multiplies `value` by its (expression-capable) factor parameter and needs a credential. */
const Multiply: INodeType = {
	description: {
		displayName: 'Multiply',
		name: 'multiply',
		group: ['transform'],
		version: 1,
		description: 'Multiplies value',
		defaults: { name: 'Multiply' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: 'postgres', required: false }],
		properties: [
			{ displayName: 'Factor', name: 'factor', type: 'number', default: 2 },
			{ displayName: 'Read Credential', name: 'readCredential', type: 'boolean', default: false },
		],
	},
	async execute() {
		const items = this.getInputData();
		const out = [];
		for (let i = 0; i < items.length; i++) {
			const value = items[i].json.value;
			if (typeof value !== 'number') throw new NodeOperationError(this.getNode(), 'value must be a number', { itemIndex: i });
			const json: IDataObject = { value: value * (this.getNodeParameter('factor', i) as number) };
			if (this.getNodeParameter('readCredential', i)) json.host = (await this.getCredentials('postgres')).host as string;
			out.push({ json, pairedItem: { item: i } });
		}
		return [out];
	},
};

const chain = (parameters: INodeParameters = {}, credentials?: Record<string, { id: string; name: string }>): WorkflowJson => ({
	nodes: [
		{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
		{ name: 'Multiply', type: 'test.multiply', parameters, credentials },
		{ name: 'Pass', type: 'n8n-nodes-base.noOp', parameters: {} },
	],
	connections: {
		Start: { main: [[{ node: 'Multiply', type: 'main', index: 0 }]] },
		Multiply: { main: [[{ node: 'Pass', type: 'main', index: 0 }]] },
	},
});

describe('runWorkflow (n8n-core WorkflowExecute in-process)', () => {
	it('runs an action-node chain with expressions and credentials', async () => {
		const result = await runWorkflow(
			chain({ factor: '={{ $json.value > 2 ? 10 : 3 }}', readCredential: true }, { postgres: { id: 'pg-1', name: 'Store' } }),
			{
				nodeTypes: { 'test.multiply': Multiply },
				inputItems: [{ value: 2 }, { value: 5 }],
				credentials: { postgres: { host: 'db.example.test' } },
			},
		);
		expect(result.status).toBe('success');
		expect(result.json('Pass')).toEqual([
			{ value: 6, host: 'db.example.test' },
			{ value: 50, host: 'db.example.test' },
		]);
	});

	it('reports a node error with its item index and stops the chain', async () => {
		const result = await runWorkflow(chain(), {
			nodeTypes: { 'test.multiply': Multiply },
			inputItems: [{ value: 1 }, { value: 'x' }],
		});
		expect(result.status).toBe('error');
		expect(result.error?.name).toBe('NodeOperationError');
		expect(result.error?.message).toBe('value must be a number');
		expect(result.nodeError('Multiply')?.context?.itemIndex).toBe(1);
		expect(result.outputs.Pass).toBeUndefined();
	});

	it('fails clearly when a node asks for a credential the test did not provide', async () => {
		const result = await runWorkflow(chain({ readCredential: true }, { postgres: { id: 'pg-1', name: 'Store' } }), {
			nodeTypes: { 'test.multiply': Multiply },
			inputItems: [{ value: 1 }],
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/does not exist for type "postgres"/);
	});
});

describe('startTrigger (n8n-core ActiveWorkflowTriggers in-process)', () => {
	/** Emits two items one after the other, each after the previous run finished, and records the runs' statuses. */
	const seen: Array<IRun['status']> = [];
	let closed = 0;
	const EmitTwice: INodeType = {
		description: {
			displayName: 'Emit Twice',
			name: 'emitTwice',
			group: ['trigger'],
			version: 1,
			description: 'Emits two items',
			defaults: { name: 'Emit Twice' },
			inputs: [],
			outputs: ['main'],
			properties: [],
		},
		async trigger(this: ITriggerFunctions) {
			void (async () => {
				for (const value of [1, 'not a number']) {
					const done = this.helpers.createDeferredPromise<IRun>();
					this.emit([[{ json: { value } }]], undefined, done);
					seen.push((await done.promise).status);
				}
			})();
			return {
				closeFunction: async () => {
					closed++;
				},
			};
		},
	};

	const workflow: WorkflowJson = {
		nodes: [
			{ name: 'Trigger', type: 'test.emitTwice', parameters: {} },
			{ name: 'Multiply', type: 'test.multiply', parameters: { factor: 7 } },
		],
		connections: { Trigger: { main: [[{ node: 'Multiply', type: 'main', index: 0 }]] } },
	};

	it('runs the workflow per emit and resolves each donePromise with the run (success, then error)', async () => {
		const active = await startTrigger(workflow, { nodeTypes: { 'test.emitTwice': EmitTwice, 'test.multiply': Multiply } });
		const [first, second] = await active.waitForExecutions(2);
		expect(first.status).toBe('success');
		expect(first.json('Trigger')).toEqual([{ value: 1 }]);
		expect(first.json('Multiply')).toEqual([{ value: 7 }]);
		expect(second.status).toBe('error');
		expect(second.error?.message).toBe('value must be a number');
		await new Promise((resolve) => setImmediate(resolve));
		expect(seen).toEqual(['success', 'error']);
		expect(active.isActive()).toBe(true);
		await active.stop();
		expect(closed).toBe(1);
		expect(active.isActive()).toBe(false);
	});

	it('surfaces emitError (deactivating, as n8n does) and saveFailedExecution', async () => {
		let closes = 0;
		const Failing: INodeType = {
			description: { ...EmitTwice.description, name: 'failing', displayName: 'Failing' },
			async trigger(this: ITriggerFunctions) {
				setTimeout(() => {
					this.saveFailedExecution(new NodeOperationError(this.getNode(), 'one message failed'));
					this.emitError(new Error('connection lost'));
				}, 5);
				return {
					closeFunction: async () => {
						closes++;
					},
				};
			},
		};
		const active = await startTrigger(
			{ nodes: [{ name: 'Trigger', type: 'test.failing', parameters: {} }], connections: {} },
			{ nodeTypes: { 'test.failing': Failing } },
		);
		const [error] = await active.waitForErrors(1);
		expect(error.message).toBe('connection lost');
		expect(active.failedExecutions.map((e) => e.message)).toEqual(['one message failed']);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(active.isActive()).toBe(false);
		expect(closes).toBe(1);
		await active.stop();
	});

	it('refuses activation when the trigger throws, with n8n\'s activation error', async () => {
		const Broken: INodeType = {
			description: { ...EmitTwice.description, name: 'broken', displayName: 'Broken' },
			async trigger(this: ITriggerFunctions) {
				throw new NodeOperationError(this.getNode(), 'address already claimed');
			},
		};
		await expect(
			startTrigger({ nodes: [{ name: 'Trigger', type: 'test.broken', parameters: {} }], connections: {} }, { nodeTypes: { 'test.broken': Broken } }),
		).rejects.toThrow('There was a problem activating the workflow: "address already claimed"');
	});

	it('runs poll ticks of a polling node and emits their items', async () => {
		let next = 0;
		const Poller: INodeType = {
			description: {
				...EmitTwice.description,
				name: 'poller',
				displayName: 'Poller',
				polling: true,
				properties: [],
			},
			async poll(this: IPollFunctions) {
				next++;
				return [[{ json: { value: next } }]];
			},
		};
		const active = await startTrigger(
			{
				nodes: [
					{ name: 'Poll', type: 'test.poller', parameters: { pollTimes: { item: [{ mode: 'everyHour', minute: 0 }] } } },
					{ name: 'Multiply', type: 'test.multiply', parameters: { factor: 10 } },
				],
				connections: { Poll: { main: [[{ node: 'Multiply', type: 'main', index: 0 }]] } },
			},
			{ nodeTypes: { 'test.poller': Poller, 'test.multiply': Multiply } },
		);
		// Activation runs one test poll, as n8n does; then one scheduled tick.
		await active.poll();
		const runs = await active.waitForExecutions(2);
		expect(runs.map((run) => run.json('Multiply')[0].value).sort()).toEqual([10, 20]);
		await active.stop();
	});

	it('carries binary data through n8n filesystem binary mode', async () => {
		await useFilesystemBinaryData();
		const WithFile: INodeType = {
			description: { ...EmitTwice.description, name: 'withFile', displayName: 'With File' },
			async trigger(this: ITriggerFunctions) {
				const binary = await this.helpers.prepareBinaryData(Buffer.from('raw message'), 'message.eml', 'message/rfc822');
				this.emit([[{ json: {}, binary: { raw: binary } }]]);
				return {};
			},
		};
		const Read = codeNode(async function (items) {
			const buffer = await this.helpers.getBinaryDataBuffer(0, 'raw');
			return items.map(() => ({ json: { text: buffer.toString(), id: items[0].binary?.raw.id ?? null } }));
		});
		const active = await startTrigger(
			{
				nodes: [
					{ name: 'Trigger', type: 'test.withFile', parameters: {} },
					{ name: 'Read', type: 'test.read', parameters: {} },
				],
				connections: { Trigger: { main: [[{ node: 'Read', type: 'main', index: 0 }]] } },
			},
			{ nodeTypes: { 'test.withFile': WithFile, 'test.read': Read } },
		);
		const [run] = await active.waitForExecutions(1);
		expect(run.status).toBe('success');
		expect(run.json('Read')[0].text).toBe('raw message');
		expect(String(run.json('Read')[0].id)).toMatch(/^filesystem/);
		await active.stop();
	});
});
