/**
 * Checks every bundled template against the package's own node descriptions, which n8n's import does not:
 * node types and typeVersions exist, parameter names exist (and fixed option values are allowed),
 * connections point at existing nodes and outputs. n8n's own node types are checked in the real-n8n run
 * (test/e2e); here only that they are ones we know to exist in the supported n8n versions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DateTime } from 'luxon';
import type { INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';

const root = path.join(__dirname, '..', '..');
const PACKAGE = 'n8n-nodes-hosted-inbox';

/** n8n's own node types the templates may use, with typeVersions present in n8n 2.8.4 and 2.41. */
const N8N_NODE_VERSIONS: Record<string, number[]> = {
	'n8n-nodes-base.stickyNote': [1],
	'n8n-nodes-base.manualTrigger': [1],
	'n8n-nodes-base.scheduleTrigger': [1.2],
	'n8n-nodes-base.emailSend': [2.1],
	'n8n-nodes-base.noOp': [1],
	'n8n-nodes-base.set': [3.4],
	'n8n-nodes-base.if': [2.2],
	'n8n-nodes-base.webhook': [2],
	'n8n-nodes-base.formTrigger': [2.2],
	'n8n-nodes-base.respondToWebhook': [1.1],
	'n8n-nodes-base.code': [2],
};

interface TemplateNode {
	name: string;
	type: string;
	typeVersion: number;
	parameters: Record<string, unknown>;
}
interface Template {
	name: string;
	nodes: TemplateNode[];
	connections: Record<string, Record<string, Array<Array<{ node: string; type: string; index: number }>>>>;
}

function ourNodeDescriptions(): Map<string, INodeTypeDescription> {
	const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
	const descriptions = new Map<string, INodeTypeDescription>();
	for (const built of pkg.n8n.nodes as string[]) {
		const source = path.join(root, built.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		const module = require(source) as Record<string, new () => INodeType>;
		for (const NodeClass of Object.values(module)) {
			if (typeof NodeClass !== 'function') continue;
			const { description } = new NodeClass();
			if (description?.name) descriptions.set(`${PACKAGE}.${description.name}`, description);
		}
	}
	return descriptions;
}

function versionsOf(description: INodeTypeDescription): number[] {
	return Array.isArray(description.version) ? description.version : [description.version];
}

function outputCount(type: string, descriptions: Map<string, INodeTypeDescription>): number {
	const ours = descriptions.get(type);
	if (ours) return Array.isArray(ours.outputs) ? ours.outputs.length : 1;
	return type === 'n8n-nodes-base.if' ? 2 : 1;
}

/** Problems with one node's parameters, by the description's property list. */
function parameterProblems(node: TemplateNode, properties: INodeProperties[]): string[] {
	const problems: string[] = [];
	for (const [name, value] of Object.entries(node.parameters ?? {})) {
		const candidates = properties.filter((p) => p.name === name);
		if (candidates.length === 0) {
			problems.push(`${node.name}: unknown parameter "${name}"`);
			continue;
		}
		const isExpression = typeof value === 'string' && value.startsWith('=');
		const options = candidates.filter((p) => p.type === 'options');
		if (!isExpression && options.length === candidates.length && typeof value !== 'object') {
			const allowed = options.flatMap((p) => (p.options ?? []).map((o) => ('value' in o ? o.value : undefined)));
			if (!allowed.includes(value as string)) problems.push(`${node.name}: "${name}" = ${JSON.stringify(value)} is not one of ${JSON.stringify(allowed)}`);
		}
	}
	return problems;
}

export function templateProblems(template: Template, descriptions: Map<string, INodeTypeDescription>): string[] {
	const problems: string[] = [];
	const byName = new Map(template.nodes.map((n) => [n.name, n]));
	if (byName.size !== template.nodes.length) problems.push('two nodes share a name');
	for (const node of template.nodes) {
		const ours = descriptions.get(node.type);
		if (ours) {
			if (!versionsOf(ours).includes(node.typeVersion)) problems.push(`${node.name}: ${node.type} has no typeVersion ${node.typeVersion}`);
			problems.push(...parameterProblems(node, ours.properties));
		} else if (node.type.startsWith(`${PACKAGE}.`)) {
			problems.push(`${node.name}: ${node.type} is not a node of this package`);
		} else if (!N8N_NODE_VERSIONS[node.type]?.includes(node.typeVersion)) {
			problems.push(`${node.name}: ${node.type} v${node.typeVersion} is not a known n8n node version`);
		}
	}
	for (const [source, byType] of Object.entries(template.connections)) {
		const sourceNode = byName.get(source);
		if (!sourceNode) {
			problems.push(`connection from missing node "${source}"`);
			continue;
		}
		const outputs = byType.main ?? [];
		if (outputs.length > outputCount(sourceNode.type, descriptions)) problems.push(`${source}: connects output ${outputs.length - 1}, which it does not have`);
		for (const targets of outputs)
			for (const target of targets ?? []) {
				const targetNode = byName.get(target.node);
				if (!targetNode) problems.push(`${source} connects to missing node "${target.node}"`);
				else if (descriptions.get(targetNode.type)?.inputs?.length === 0) problems.push(`${source} connects to trigger "${target.node}"`);
			}
	}
	const scheduled = template.nodes.some((n) => n.type === 'n8n-nodes-base.scheduleTrigger');
	if (scheduled && !template.nodes.some((n) => n.type === 'n8n-nodes-base.manualTrigger')) problems.push('a scheduled template needs a Manual Trigger too');
	if (!template.nodes.some((n) => n.type === 'n8n-nodes-base.stickyNote')) problems.push('no sticky note explains the steps');
	return problems;
}

const workflowsDir = path.join(root, 'workflows');
const templateFiles = fs.existsSync(workflowsDir) ? fs.readdirSync(workflowsDir).filter((f) => f.endsWith('.json')) : [];

describe('workflow templates', () => {
	const descriptions = ourNodeDescriptions();

	it('are bundled', () => {
		expect(templateFiles).toEqual(expect.arrayContaining(['hosted-inbox-smtp.json', 'hosted-inbox-http.json', 'google-groups.json', 'agent-availability.json', 'hosted-inbox-health.json']));
	});

	it.each(templateFiles)('%s fits the node descriptions', (file) => {
		const template = JSON.parse(fs.readFileSync(path.join(workflowsDir, file), 'utf8')) as Template;
		expect(templateProblems(template, descriptions)).toEqual([]);
	});

	it('hosted-inbox-http.json takes posts on a fixed webhook, reads their bodies itself, and records each message', () => {
		const template = JSON.parse(fs.readFileSync(path.join(workflowsDir, 'hosted-inbox-http.json'), 'utf8')) as Template;
		const trigger = template.nodes.find((n) => n.type === `${PACKAGE}.hostedInboxTrigger`) as TemplateNode & { webhookId?: string; credentials?: Record<string, unknown> };
		expect(trigger.parameters).toMatchObject({ receiveVia: 'http', httpFormat: 'raw', options: { binaryData: true } });
		// n8n reads options.binaryData of a version-1 node only: the body stays unread for the door.
		expect(trigger.typeVersion).toBe(1);
		expect(trigger.webhookId).toMatch(/^[0-9a-f-]{36}$/);
		expect(Object.keys(trigger.credentials ?? {})).toEqual(['hostedInboxHttpApi']);
		// Delivered means recorded: the Message output goes straight to Resolve Original Sender.
		const [message] = template.connections[trigger.name].main;
		expect(message.map((t) => template.nodes.find((n) => n.name === t.node)?.type)).toEqual([`${PACKAGE}.resolveOriginalSender`]);
		// The same pipeline after the trigger as the SMTP template's.
		const smtp = JSON.parse(fs.readFileSync(path.join(workflowsDir, 'hosted-inbox-smtp.json'), 'utf8')) as Template;
		const after = (t: Template) => t.nodes.filter((n) => n.type !== `${PACKAGE}.hostedInboxTrigger` && n.type !== 'n8n-nodes-base.stickyNote');
		expect(after(template)).toEqual(after(smtp));
		expect(template.connections).toEqual(smtp.connections);
	});

	it.each(['hosted-inbox-smtp.json', 'hosted-inbox-imap.json', 'hosted-inbox-http.json'])('%s mails a forwarding test only when its outcome is verified', (file) => {
		const template = JSON.parse(fs.readFileSync(path.join(workflowsDir, file), 'utf8')) as Template;
		const forwarding = template.connections['Hosted Inbox Trigger'].main[1];
		expect(forwarding).toHaveLength(1);
		const gate = template.nodes.find((n) => n.name === forwarding[0].node)!;
		expect(gate.type).toBe('n8n-nodes-base.if');
		expect(JSON.stringify(gate.parameters)).toContain("$json.verification.check.outcome === 'verified'");
		// Only the true branch mails; what the gate lets through is the only way to the email node.
		const [pass, fail] = template.connections[gate.name].main;
		expect(fail ?? []).toEqual([]);
		expect(pass.map((t) => template.nodes.find((n) => n.name === t.node)?.type)).toEqual(['n8n-nodes-base.emailSend']);
	});

	describe('hosted-inbox-health.json', () => {
		const template = JSON.parse(fs.readFileSync(path.join(workflowsDir, 'hosted-inbox-health.json'), 'utf8')) as Template;
		const node = (name: string) => template.nodes.find((n) => n.name === name)!;
		const settings = Object.fromEntries(
			(node('Alert Settings').parameters.assignments as { assignments: Array<{ name: string; value: unknown }> }).assignments.map((a) => [a.name, a.value]),
		);
		/** Runs the Find Problems Code node as n8n would: its inputs, the settings node, $now and the workflow's static data. */
		const findProblems = (now: string, inboxes: object[], staticData: Record<string, unknown> = {}) =>
			new Function('$input', '$', '$now', '$getWorkflowStaticData', node('Find Problems').parameters.jsCode as string)(
				{ all: () => inboxes.map((json) => ({ json })) },
				() => ({ first: () => ({ json: settings }) }),
				DateTime.fromISO(now),
				() => staticData,
			) as Array<{ json: { inbox: string; problems: string[] } }>;
		const health = (overrides: object = {}) => ({
			inbox: { id: 'i1', address: 'support@inbox.example.com' },
			trigger: { status: 'running', lastBeatAt: '2026-03-02T09:59:40.000Z' },
			lastReceivedAt: '2026-03-02T04:00:00.000Z',
			secondsSinceLastReceived: 6 * 3600,
			backlog: { count: 0, oldestReceivedAt: null, oldestAgeSeconds: null },
			failed: 0,
			quarantined: 0,
			lastError: null,
			...overrides,
		});

		it('runs the health operation, then the problems, then the email', () => {
			expect(node('Get Inbox Health').parameters).toMatchObject({ resource: 'inbox', operation: 'getHealth' });
			expect(template.connections['Get Inbox Health'].main[0][0].node).toBe('Find Problems');
			expect(template.connections['Find Problems'].main[0].map((t) => node(t.node).type)).toEqual(['n8n-nodes-base.emailSend']);
			expect(settings).toMatchObject({ timeZone: 'Europe/Berlin', workDays: '1,2,3,4,5', workStartHour: 9, workEndHour: 17, quietHours: 4 });
		});

		it('alerts on a quiet inbox only inside working hours (Mon-Fri 09-17 Berlin)', () => {
			// Monday 2 March 2026, 11:00 in Berlin (10:00 UTC): six quiet hours are too many.
			expect(findProblems('2026-03-02T10:00:00.000Z', [health()])).toEqual([
				expect.objectContaining({ json: expect.objectContaining({ inbox: 'support@inbox.example.com', problems: ['nothing received for 6 hours (last at 2026-03-02T04:00:00.000Z)'] }) }),
			]);
			// The same at 18:00 Berlin, and on a Saturday: nobody is expected to write.
			expect(findProblems('2026-03-02T17:00:00.000Z', [health()])).toEqual([]);
			expect(findProblems('2026-03-07T10:00:00.000Z', [health()])).toEqual([]);
			expect(findProblems('2026-03-02T10:00:00.000Z', [health({ secondsSinceLastReceived: 3600 })])).toEqual([]);
		});

		it('alerts on a backlog, an old waiting message, failures that grew since the last check, and a silent trigger', () => {
			const saturday = '2026-03-07T10:00:00.000Z';
			const [backlog] = findProblems(saturday, [health({ backlog: { count: 25, oldestReceivedAt: 'x', oldestAgeSeconds: 3600 } })]);
			expect(backlog.json.problems).toEqual(['25 messages wait for a successful execution', 'the oldest waiting message arrived 60 minutes ago']);
			const seen = {};
			expect(findProblems(saturday, [health({ failed: 2 })], seen)[0].json.problems).toEqual([expect.stringMatching(/^2 failed messages \(2 new\)/)]);
			expect(findProblems(saturday, [health({ failed: 2 })], seen)).toEqual([]);
			expect(findProblems(saturday, [health({ failed: 3 })], seen)[0].json.problems).toEqual([expect.stringMatching(/^3 failed messages \(1 new\)/)]);
			expect(findProblems(saturday, [health({ trigger: { status: 'silent', lastBeatAt: '2026-03-07T08:00:00.000Z' } })])[0].json.problems).toEqual([
				'its trigger went silent: no heartbeat since 2026-03-07T08:00:00.000Z (n8n stopped or crashed)',
			]);
		});
	});

	it('catches what n8n import would let through', () => {
		const broken: Template = {
			name: 'broken',
			nodes: [
				{ name: 'Trigger', type: `${PACKAGE}.hostedInboxTrigger`, typeVersion: 9, parameters: { receiveVia: 'fax', nope: 1 } },
				{ name: 'Note', type: 'n8n-nodes-base.stickyNote', typeVersion: 1, parameters: {} },
			],
			connections: { Trigger: { main: [[{ node: 'Ghost', type: 'main', index: 0 }], [], [], []] } },
		};
		expect(templateProblems(broken, descriptions)).toEqual([
			'Trigger: n8n-nodes-hosted-inbox.hostedInboxTrigger has no typeVersion 9',
			'Trigger: "receiveVia" = "fax" is not one of ["smtp","imap","http"]',
			'Trigger: unknown parameter "nope"',
			'Trigger: connects output 3, which it does not have',
			'Trigger connects to missing node "Ghost"',
		]);
	});
});
