/**
 * In-process n8n harness: runs workflow JSON through n8n-core's own WorkflowExecute and activates trigger nodes
 * through n8n-core's ActiveWorkflowTriggers / TriggersAndPollers / TriggerContext, as the n8n CLI does,
 * with plain-object additionalData and in-memory credentials. Nothing here mocks the execution engine.
 * (A whole n8n installed and started for end-to-end runs is real-n8n.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// n8n-core reads these when its DI container first builds InstanceSettings / Logger: keep them off ~/.n8n and quiet.
if (!process.env.N8N_USER_FOLDER) {
	const userFolder = mkdtempSync(join(tmpdir(), 'hosted-inbox-n8n-'));
	process.env.N8N_USER_FOLDER = userFolder;
	process.once('exit', () => rmSync(userFolder, { recursive: true, force: true }));
}
process.env.N8N_ENCRYPTION_KEY ??= 'hosted-inbox-test-key';
process.env.N8N_LOG_LEVEL ??= 'silent';

import {
	ActiveWorkflowTriggers,
	BinaryDataService,
	ExecutionLifecycleHooks,
	PollContext,
	PollTriggerExecutor,
	TriggerContext,
	WebhookContext,
	WorkflowExecute,
} from 'n8n-core';
import { commonPollingParameters } from 'n8n-core/dist/nodes-loader/constants';
import {
	createRunExecutionData,
	ICredentialsHelper,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IConnections,
	type IBinaryData,
	type IDataObject,
	type IExecuteResponsePromiseData,
	type IExecuteFunctions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeType,
	type INodeTypes,
	type IPinData,
	type IRun,
	type IVersionedNodeType,
	type IWebhookData,
	type IWebhookDescription,
	type IWorkflowBase,
	type IWorkflowExecuteAdditionalData,
	type IWorkflowSettings,
	type WorkflowActivateMode,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

// n8n-core ships its own @n8n/di: its container is the one holding n8n-core's services.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Container } = require(require.resolve('@n8n/di', { paths: [dirname(require.resolve('n8n-core'))] })) as {
	Container: { get<T>(type: abstract new (...args: never[]) => T): T };
};

/** The Logger n8n-core hands nodes as `this.logger` (from its own @n8n/backend-common), to watch warnings. */
export function n8nLogger(): { warn(message: string): void } {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { Logger } = require(require.resolve('@n8n/backend-common', { paths: [dirname(require.resolve('n8n-core'))] })) as {
		Logger: abstract new (...args: never[]) => { warn(message: string): void };
	};
	return Container.get(Logger);
}

/** The package name n8n prefixes our node types with (`n8n-nodes-hosted-inbox.hostedInbox`). */
export const PACKAGE = 'n8n-nodes-hosted-inbox';

export type NodeTypeEntry = INodeType | IVersionedNodeType | (new () => INodeType | IVersionedNodeType);
/** Node types by full type name, e.g. `{ 'n8n-nodes-hosted-inbox.hostedInbox': HostedInbox }`. */
export type NodeTypeMap = Record<string, NodeTypeEntry>;

/** Credentials by credential type (`postgres`, `smtp`, ...) or by the credential id a node names. */
export type CredentialMap = Record<string, ICredentialDataDecryptedObject>;

export interface WorkflowJson {
	id?: string;
	name?: string;
	nodes: Array<Omit<INode, 'id' | 'typeVersion' | 'position'> & Partial<Pick<INode, 'id' | 'typeVersion' | 'position'>>>;
	connections: IConnections;
	settings?: IWorkflowSettings;
	staticData?: IDataObject;
	pinData?: IPinData;
}

export interface HarnessOptions {
	nodeTypes?: NodeTypeMap;
	credentials?: CredentialMap;
}

/** Registers our node classes under `n8n-nodes-hosted-inbox.<description.name>`. */
export function packageNodeTypes(...classes: Array<new () => INodeType | IVersionedNodeType>): NodeTypeMap {
	const map: NodeTypeMap = {};
	for (const NodeClass of classes) {
		map[`${PACKAGE}.${new NodeClass().description.name}`] = NodeClass;
	}
	return map;
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal base nodes (n8n-nodes-base is not installed): same type names, so workflow JSON reads like n8n's.

/** Starts a manual run; passes on the run's input items (one empty item by default), as n8n's Start node did. */
export const ManualTrigger: INodeType = {
	description: {
		displayName: 'Manual Trigger',
		name: 'manualTrigger',
		group: ['trigger'],
		version: 1,
		description: 'Runs the flow when a test starts it',
		defaults: { name: 'When clicking "Execute workflow"' },
		inputs: [],
		outputs: ['main'],
		properties: [],
	},
	async execute(this: IExecuteFunctions) {
		return [this.getInputData()];
	},
};

/** Passes items through unchanged (n8n's No Operation node). */
export const NoOp: INodeType = {
	description: {
		displayName: 'No Operation, do nothing',
		name: 'noOp',
		group: ['organization'],
		version: 1,
		description: 'No Operation',
		defaults: { name: 'No Operation, do nothing' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [],
	},
	async execute(this: IExecuteFunctions) {
		return [this.getInputData()];
	},
};

/** A test-only "Code" node: runs `fn` over all input items inside the engine (one output). */
export function codeNode(
	fn: (this: IExecuteFunctions, items: INodeExecutionData[]) => INodeExecutionData[] | Promise<INodeExecutionData[]>,
): INodeType {
	return {
		description: {
			displayName: 'Test Code',
			name: 'testCode',
			group: ['transform'],
			version: 1,
			description: 'Runs a test function',
			defaults: { name: 'Code' },
			inputs: ['main'],
			outputs: ['main'],
			properties: [],
		},
		async execute(this: IExecuteFunctions) {
			return [await fn.call(this, this.getInputData())];
		},
	};
}

export const BASE_NODE_TYPES: NodeTypeMap = {
	'n8n-nodes-base.manualTrigger': ManualTrigger,
	'n8n-nodes-base.noOp': NoOp,
};

// ---------------------------------------------------------------------------------------------------------------
// Node types, credentials, additionalData

/** As n8n's node loader does: polling nodes get the common "Poll Times" parameter. */
function applySpecialNodeParameters(type: INodeType) {
	const { properties, polling } = type.description;
	if (polling && !properties.some((property) => property.name === 'pollTimes')) properties.unshift(...commonPollingParameters);
}

class TestNodeTypes implements INodeTypes {
	private readonly types = new Map<string, INodeType | IVersionedNodeType>();

	constructor(map: NodeTypeMap) {
		for (const [name, entry] of Object.entries({ ...BASE_NODE_TYPES, ...map })) {
			const type = typeof entry === 'function' ? new entry() : entry;
			for (const version of 'nodeVersions' in type ? Object.values(type.nodeVersions) : [type]) applySpecialNodeParameters(version);
			this.types.set(name, type);
		}
	}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		const type = this.types.get(nodeType);
		if (!type) throw new Error(`Unknown node type "${nodeType}" (register it in the harness's nodeTypes)`);
		return type;
	}

	getByNameAndVersion(nodeType: string, version?: number): INodeType {
		const type = this.getByName(nodeType);
		return 'nodeVersions' in type ? type.getNodeType(version) : type;
	}

	getKnownTypes(): IDataObject {
		return {};
	}
}

/** In-memory credentials: `getCredentials(type)` returns the test value for the node's credential id, else for its type. */
class TestCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly credentials: CredentialMap) {
		super();
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async authenticate(_credentials: ICredentialDataDecryptedObject, _typeName: string, requestOptions: never) {
		return requestOptions;
	}

	async preAuthentication() {
		return undefined;
	}

	async runPreAuthentication() {
		return undefined;
	}

	async getCredentials(): Promise<never> {
		throw new Error('The test harness only serves decrypted credentials');
	}

	async getDecrypted(_additionalData: IWorkflowExecuteAdditionalData, nodeCredentials: INodeCredentialsDetails, type: string) {
		const data = (nodeCredentials.id && this.credentials[nodeCredentials.id]) || this.credentials[type];
		if (!data) throw new Error(`Credential with ID "${nodeCredentials.id}" does not exist for type "${type}".`);
		return structuredClone(data);
	}

	async updateCredentials() {}

	async updateCredentialsOauthTokenData() {}

	getCredentialsProperties() {
		return [];
	}
}

const BASE_URL = 'http://localhost:5678';

function additionalData(credentials: CredentialMap, executionId?: string, hooks?: ExecutionLifecycleHooks) {
	const data: Partial<IWorkflowExecuteAdditionalData> = {
		credentialsHelper: new TestCredentialsHelper(credentials),
		executeWorkflow: async () => {
			throw new Error('Sub-workflows are not supported by the test harness');
		},
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		logAiEvent: () => {},
		startRunnerTask: async () => {
			throw new Error('Task runners are not supported by the test harness');
		},
		currentNodeExecutionIndex: 0,
		variables: {},
		restApiUrl: `${BASE_URL}/rest`,
		instanceBaseUrl: `${BASE_URL}/`,
		formBaseUrl: `${BASE_URL}/form`,
		formWaitingBaseUrl: `${BASE_URL}/form-waiting`,
		formTestBaseUrl: `${BASE_URL}/form-test`,
		webhookBaseUrl: `${BASE_URL}/webhook`,
		webhookWaitingBaseUrl: `${BASE_URL}/webhook-waiting`,
		webhookTestBaseUrl: `${BASE_URL}/webhook-test`,
		mcpBaseUrl: `${BASE_URL}/mcp`,
		mcpTestBaseUrl: `${BASE_URL}/mcp-test`,
		userId: 'test-user',
		executionId,
		hooks,
	};
	return data as IWorkflowExecuteAdditionalData;
}

let workflowCounter = 0;
let executionCounter = 0;

function normalize(json: WorkflowJson): IWorkflowBase {
	const id = json.id ?? `test-workflow-${++workflowCounter}`;
	const now = new Date();
	return {
		id,
		name: json.name ?? id,
		active: false,
		activeVersionId: null,
		isArchived: false,
		createdAt: now,
		updatedAt: now,
		nodes: json.nodes.map((node, index) => ({
			id: node.id ?? `node-${index + 1}`,
			typeVersion: node.typeVersion ?? 1,
			position: node.position ?? [index * 200, 0],
			...node,
		})) as INode[],
		connections: json.connections,
		settings: { executionOrder: 'v1', ...json.settings },
		staticData: json.staticData ?? {},
		pinData: json.pinData,
	};
}

function buildWorkflow(base: IWorkflowBase, nodeTypes: INodeTypes, active: boolean): Workflow {
	return new Workflow({
		id: base.id,
		name: base.name,
		nodes: base.nodes,
		connections: base.connections,
		active,
		nodeTypes,
		staticData: base.staticData as IDataObject,
		settings: base.settings,
		pinData: base.pinData,
	});
}

// ---------------------------------------------------------------------------------------------------------------
// Results

/** A node's error as n8n records it in the run (a plain copy of NodeOperationError / NodeApiError fields). */
export interface RunError {
	name: string;
	message: string;
	description?: string | null;
	context?: { itemIndex?: number; runIndex?: number };
	node?: INode;
}

export interface RunResult {
	executionId: string;
	run: IRun;
	status: IRun['status'];
	/** The execution's error (a failing node's NodeOperationError, ...), undefined on success. */
	error: RunError | undefined;
	/** Items a node produced on one output in one of its runs. */
	items(nodeName: string, outputIndex?: number, runIndex?: number): INodeExecutionData[];
	/** The `json` of those items. */
	json(nodeName: string, outputIndex?: number, runIndex?: number): IDataObject[];
	/** Per node: per run, the items of each output. */
	outputs: Record<string, INodeExecutionData[][][]>;
	/** The error a node raised, if it did. */
	nodeError(nodeName: string, runIndex?: number): RunError | undefined;
}

function toResult(executionId: string, run: IRun): RunResult {
	const runData = run.data.resultData.runData;
	const outputs: RunResult['outputs'] = {};
	for (const [name, tasks] of Object.entries(runData)) {
		outputs[name] = tasks.map((task) => (task.data?.main ?? []).map((items) => items ?? []));
	}
	const items = (nodeName: string, outputIndex = 0, runIndex = 0) => {
		if (!runData[nodeName]) throw new Error(`Node "${nodeName}" did not run (ran: ${Object.keys(runData).join(', ')})`);
		return outputs[nodeName][runIndex]?.[outputIndex] ?? [];
	};
	return {
		executionId,
		run,
		status: run.status,
		error: run.data.resultData.error as RunError | undefined,
		outputs,
		items,
		json: (nodeName, outputIndex, runIndex) => items(nodeName, outputIndex, runIndex).map((item) => item.json),
		nodeError: (nodeName, runIndex = 0) => runData[nodeName]?.[runIndex]?.error as RunError | undefined,
	};
}

// ---------------------------------------------------------------------------------------------------------------
// Manual runs

export interface RunWorkflowOptions extends HarnessOptions {
	/** Items the start node passes on (default: one empty item, as a manual run gives). */
	inputItems?: INodeExecutionData[] | IDataObject[];
	/** The node to start from (default: the first node without inputs). */
	startNode?: string;
	mode?: WorkflowExecuteMode;
}

function asItems(items: INodeExecutionData[] | IDataObject[] | undefined): INodeExecutionData[] {
	if (!items) return [{ json: {} }];
	return items.map((item) => (item && typeof item.json === 'object' && item.json !== null ? (item as INodeExecutionData) : { json: item as IDataObject }));
}

/** Runs an action-node chain from its start node through WorkflowExecute; resolves with the run (success or error). */
export async function runWorkflow(json: WorkflowJson, options: RunWorkflowOptions = {}): Promise<RunResult> {
	const base = normalize(json);
	const nodeTypes = new TestNodeTypes(options.nodeTypes ?? {});
	const workflow = buildWorkflow(base, nodeTypes, false);
	const startNode = options.startNode
		? workflow.getNode(options.startNode)
		: base.nodes.map((node) => workflow.getNode(node.name)).find((node) => node && workflow.getParentNodes(node.name).length === 0);
	if (!startNode) throw new Error(`Start node ${options.startNode ?? '(first node without inputs)'} not found`);

	const mode = options.mode ?? 'manual';
	const executionId = `test-execution-${++executionCounter}`;
	const hooks = new ExecutionLifecycleHooks(mode, executionId, base);
	const runExecutionData = createRunExecutionData({
		executionData: { nodeExecutionStack: [{ node: startNode, data: { main: [asItems(options.inputItems)] }, source: null }] },
	});
	const execute = new WorkflowExecute(additionalData(options.credentials ?? {}, executionId, hooks), mode, runExecutionData);
	return toResult(executionId, await execute.processRunExecutionData(workflow));
}

// ---------------------------------------------------------------------------------------------------------------
// Active workflows: triggers and pollers

export interface Execution extends RunResult {
	/** What the trigger emitted (items per output). */
	emitted: INodeExecutionData[][];
	triggerNode: string;
}

export interface TriggerHandle {
	/** Finished executions, in the order they finished (grows while the workflow is active). */
	readonly executions: Execution[];
	/** Errors the trigger reported through `this.emitError` (n8n deactivates the workflow on those). */
	readonly errors: Error[];
	/** Errors reported through `this.saveFailedExecution`. */
	readonly failedExecutions: Error[];
	/** Resolves once `count` executions have finished (rejects after timeoutMs, naming what was seen). */
	waitForExecutions(count: number, timeoutMs?: number): Promise<Execution[]>;
	/** Resolves once `count` errors were reported via emitError (rejects after timeoutMs). */
	waitForErrors(count: number, timeoutMs?: number): Promise<Error[]>;
	/** Calls `listener` for each execution that finishes from now on. */
	onExecution(listener: (execution: Execution) => void): () => void;
	/** Runs one poll tick of a polling node, as n8n's scheduler does (its items are emitted like a trigger's). */
	poll(nodeName?: string): Promise<void>;
	/**
	 * The production URL of a webhook the workflow's nodes registered (as n8n does on activation: a node's `webhooks`
	 * whose method evaluates to something), served on a loopback port; undefined when none registered.
	 */
	webhookUrl(nodeName?: string): string | undefined;
	/** Errors a node's webhook() threw (n8n answers those 500). */
	readonly webhookErrors: Error[];
	/** Whether n8n still holds the workflow's triggers (false after stop() or an emitError). */
	isActive(): boolean;
	/** Deactivates the workflow (calls the trigger's closeFunction) and waits for running executions. */
	stop(): Promise<void>;
	workflowId: string;
}

export interface StartTriggerOptions extends HarnessOptions {
	activation?: WorkflowActivateMode;
	/** After an emitError n8n deactivates the workflow and re-activates it later; this sets that delay (default: no re-activation). */
	reactivateAfterErrorMs?: number;
	/** The mode a webhook function is called in: "manual" as for a post to n8n's test URL (default "webhook"; its run stays "webhook"). */
	webhookMode?: 'webhook' | 'manual';
}

function waitFor<T>(list: T[], count: number, timeoutMs: number, what: string, subscribe: (wake: () => void) => () => void): Promise<T[]> {
	return new Promise((resolve, reject) => {
		if (list.length >= count) return resolve(list.slice(0, count));
		const timer = setTimeout(() => {
			unsubscribe();
			reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${count} ${what}; got ${list.length}`));
		}, timeoutMs);
		const unsubscribe = subscribe(() => {
			if (list.length < count) return;
			clearTimeout(timer);
			unsubscribe();
			resolve(list.slice(0, count));
		});
	});
}

/**
 * Activates the workflow's trigger and polling nodes through n8n-core's ActiveWorkflowTriggers. Each `emit` runs
 * the workflow from the trigger node through WorkflowExecute (mode "trigger") and resolves the emit's donePromise
 * with the finished run, success or error, as n8n's ActiveWorkflowManager does.
 */
export async function startTrigger(json: WorkflowJson, options: StartTriggerOptions = {}): Promise<TriggerHandle> {
	const base = normalize(json);
	const nodeTypes = new TestNodeTypes(options.nodeTypes ?? {});
	const credentials = options.credentials ?? {};
	const mode: WorkflowExecuteMode = 'trigger';
	const activation = options.activation ?? 'activate';
	const activeWorkflows = Container.get(ActiveWorkflowTriggers);
	const workflow = buildWorkflow(base, nodeTypes, true);

	const executions: Execution[] = [];
	const errors: Error[] = [];
	const failedExecutions: Error[] = [];
	const running = new Set<Promise<unknown>>();
	const listeners = new Set<() => void>();
	const executionListeners = new Set<(execution: Execution) => void>();
	const wake = () => listeners.forEach((listener) => listener());
	let reactivation: NodeJS.Timeout | undefined;
	let stopped = false;

	const runFromTrigger = (
		node: INode,
		data: INodeExecutionData[][],
		responsePromise?: { resolve(value: IExecuteResponsePromiseData): void },
		runMode: WorkflowExecuteMode = mode,
	): Promise<IRun> => {
		const executionId = `test-execution-${++executionCounter}`;
		const hooks = new ExecutionLifecycleHooks(runMode, executionId, base);
		if (responsePromise) hooks.addHandler('sendResponse', (response) => responsePromise.resolve(response));
		const runExecutionData = createRunExecutionData({
			executionData: { nodeExecutionStack: [{ node, data: { main: data }, source: null }] },
		});
		// n8n builds a fresh Workflow per execution; static data is the active workflow's.
		const executionWorkflow = buildWorkflow({ ...base, staticData: workflow.staticData }, nodeTypes, true);
		const execute = new WorkflowExecute(additionalData(credentials, executionId, hooks), runMode, runExecutionData);
		const promise = Promise.resolve(execute.processRunExecutionData(executionWorkflow)).then((run) => {
			const execution: Execution = { ...toResult(executionId, run), emitted: data, triggerNode: node.name };
			executions.push(execution);
			executionListeners.forEach((listener) => listener(execution));
			wake();
			return run;
		});
		running.add(promise);
		void promise.finally(() => running.delete(promise)).catch(() => {});
		return promise;
	};

	const onEmitError = (node: INode, error: Error) => {
		errors.push(error);
		wake();
		// As n8n: the workflow is deactivated (closeFunction runs) and queued for re-activation.
		void activeWorkflows.remove(base.id).then(() => {
			if (options.reactivateAfterErrorMs === undefined || stopped) return;
			reactivation = setTimeout(() => void activate().catch((e: Error) => onEmitError(node, e)), options.reactivateAfterErrorMs);
		});
	};

	const getTriggerFunctions = (wf: Workflow, node: INode, data: IWorkflowExecuteAdditionalData, m: WorkflowExecuteMode, a: WorkflowActivateMode) =>
		new TriggerContext(
			wf,
			node,
			data,
			m,
			a,
			(emitted, responsePromise, donePromise) => {
				runFromTrigger(node, emitted, responsePromise).then(
					(run) => donePromise?.resolve(run),
					(error: Error) => (donePromise ? donePromise.reject(error) : errors.push(error)),
				);
			},
			(error) => onEmitError(node, error),
			(error) => {
				failedExecutions.push(error);
				wake();
			},
		);

	const pollContexts = new Map<string, PollContext>();
	const getPollFunctions = (wf: Workflow, node: INode, data: IWorkflowExecuteAdditionalData, m: WorkflowExecuteMode, a: WorkflowActivateMode) => {
		const context = new PollContext(
			wf,
			node,
			data,
			m,
			a,
			(emitted, responsePromise, donePromise) => {
				runFromTrigger(node, emitted, responsePromise).then(
					(run) => donePromise?.resolve(run),
					(error: Error) => (donePromise ? donePromise.reject(error) : errors.push(error)),
				);
			},
			(error) => onEmitError(node, error),
		);
		pollContexts.set(node.name, context);
		return context;
	};

	const activate = () =>
		activeWorkflows.addAllTriggers(base.id, workflow, additionalData(credentials), mode, activation, getTriggerFunctions, getPollFunctions);
	await activate();

	const webhooks = registeredWebhooks(workflow, nodeTypes);
	const webhookErrors: Error[] = [];
	const webhookServer = webhooks.length
		? await serveWebhooks(webhooks, async (hook, req, res) => {
				// As n8n's webhook helper: the webhook function runs first; its workflowData starts a run (mode "webhook").
				const data = { ...additionalData(credentials), httpRequest: req, httpResponse: res } as unknown as IWorkflowExecuteAdditionalData;
				const webhookData: IWebhookData = {
					httpMethod: hook.method as IWebhookData['httpMethod'],
					node: hook.node.name,
					path: hook.path,
					webhookDescription: hook.description,
					workflowId: base.id,
					workflowExecuteAdditionalData: data,
				};
				const nodeType = nodeTypes.getByNameAndVersion(hook.node.type, hook.node.typeVersion);
				try {
					const result = await nodeType.webhook!.call(new WebhookContext(workflow, hook.node, data, options.webhookMode ?? 'webhook', webhookData, [], null));
					if (!result.noWebhookResponse) answerJson(res, 200, result.webhookResponse ?? { message: 'Webhook call received' });
					if (result.workflowData) void runFromTrigger(hook.node, result.workflowData, undefined, 'webhook').catch(() => {});
				} catch (error) {
					webhookErrors.push(error as Error);
					wake();
					if (!res.headersSent) answerJson(res, 500, { message: 'Workflow Webhook Error: Workflow could not be started!' });
				}
			})
		: undefined;

	return {
		workflowId: base.id,
		executions,
		errors,
		failedExecutions,
		waitForExecutions: (count, timeoutMs = 10_000) =>
			waitFor(executions, count, timeoutMs, 'executions', (listener) => {
				listeners.add(listener);
				return () => listeners.delete(listener);
			}),
		waitForErrors: (count, timeoutMs = 10_000) =>
			waitFor(errors, count, timeoutMs, 'trigger errors', (listener) => {
				listeners.add(listener);
				return () => listeners.delete(listener);
			}),
		onExecution(listener) {
			executionListeners.add(listener);
			return () => executionListeners.delete(listener);
		},
		async poll(nodeName) {
			const name = nodeName ?? [...pollContexts.keys()][0];
			const context = name === undefined ? undefined : pollContexts.get(name);
			const node = name === undefined ? null : workflow.getNode(name);
			if (!context || !node) throw new Error(`No active polling node${nodeName ? ` named "${nodeName}"` : ''}`);
			await Container.get(PollTriggerExecutor).create(workflow, node, context, () => activeWorkflows.isActive(base.id))();
		},
		webhookErrors,
		webhookUrl(nodeName) {
			const hook = webhooks.find((w) => !nodeName || w.node.name === nodeName);
			return hook && webhookServer ? `http://127.0.0.1:${webhookServer.port}/webhook/${hook.path}` : undefined;
		},
		isActive: () => activeWorkflows.isActive(base.id),
		async stop() {
			stopped = true;
			clearTimeout(reactivation);
			await webhookServer?.close();
			await activeWorkflows.remove(base.id);
			await Promise.allSettled([...running]);
		},
	};
}

// ---------------------------------------------------------------------------------------------------------------
// Webhooks: what n8n's WebhookService registers for an active workflow, served over real HTTP

interface RegisteredWebhook {
	node: INode;
	description: IWebhookDescription;
	method: string;
	path: string;
}

/** As n8n's WebhookService.getNodeWebhooks: path and method evaluated per node; an empty method registers nothing. */
function registeredWebhooks(workflow: Workflow, nodeTypes: INodeTypes): RegisteredWebhook[] {
	const found: RegisteredWebhook[] = [];
	for (const node of Object.values(workflow.nodes)) {
		if (node.disabled) continue;
		for (const description of nodeTypes.getByNameAndVersion(node.type, node.typeVersion).description.webhooks ?? []) {
			const value = (parameter: unknown, fallback: unknown) =>
				workflow.expression.getSimpleParameterValue(node, parameter as string, 'webhook', {}, undefined, fallback as string);
			const path = String(value(description.path, '') ?? '').trim().replace(/^\/+|\/+$/g, '');
			const fullPath = NodeHelpers.getNodeWebhookPath(workflow.id, node, path, value(description.isFullPath, false) === true);
			for (const method of String(value(description.httpMethod, 'GET') ?? '').split(',')) {
				if (method.trim()) found.push({ node, description, method: method.trim(), path: fullPath });
			}
		}
	}
	return found;
}

function answerJson(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify(body));
}

/**
 * A loopback server for /webhook/<path>. As n8n's parseRequestBody: the body of a version-1 node whose
 * `options.binaryData` is true is left unread for the node; any other body is read first (req.rawBody).
 */
async function serveWebhooks(
	webhooks: RegisteredWebhook[],
	handle: (hook: RegisteredWebhook, req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ port: number; close(): Promise<void> }> {
	const server = createServer((req, res) => {
		const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
		const hook = webhooks.find((w) => `/webhook/${w.path}` === pathname && w.method === req.method);
		if (!hook) return answerJson(res, 404, { message: 'The requested webhook is not registered.' });
		const unread = hook.node.typeVersion === 1 && (hook.node.parameters.options as IDataObject | undefined)?.binaryData === true;
		const body = unread
			? Promise.resolve()
			: new Promise<void>((resolve, reject) => {
					const chunks: Buffer[] = [];
					req.on('data', (chunk: Buffer) => chunks.push(chunk));
					req.on('end', () => resolve(void ((req as IncomingMessage & { rawBody?: Buffer }).rawBody = Buffer.concat(chunks))));
					req.on('error', reject);
				});
		void body.then(async () => await handle(hook, req, res)).catch(() => res.destroy());
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		port: (server.address() as AddressInfo).port,
		close: async () => {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

let binaryDataReady: Promise<void> | undefined;

/** The bytes n8n keeps for a binary property, from wherever its binary-data mode put them. */
export async function storedBinaryData(binary: IBinaryData): Promise<Buffer> {
	return await Container.get(BinaryDataService).getAsBuffer(binary);
}

/** Switches n8n's binary data to filesystem mode (under N8N_USER_FOLDER), as a production n8n usually runs. */
export async function useFilesystemBinaryData(): Promise<void> {
	binaryDataReady ??= (async () => {
		const service = Container.get(BinaryDataService);
		(service as unknown as { config: { mode: string } }).config.mode = 'filesystem';
		await service.init();
	})();
	await binaryDataReady;
}
