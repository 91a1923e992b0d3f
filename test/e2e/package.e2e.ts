/**
 * The package in a real n8n, installed as n8n's community-node installer installs it: n8n lists our node types
 * under the package's own name, imports every template with its CLI, and runs a workflow from its Manual Trigger.
 */
import fs from 'node:fs';
import path from 'node:path';

import { N8n, REPO_ROOT } from '../support/real-n8n';
import { ourNodeTypes } from '../support/real-n8n-setup';
import { e2eVersions, tarball } from './support';

const manualWorkflow = path.join(__dirname, 'fixtures', 'manual-set.json');
const templates = fs
	.readdirSync(path.join(REPO_ROOT, 'workflows'))
	.filter((f) => f.endsWith('.json'))
	.map((f) => path.join(REPO_ROOT, 'workflows', f));

describe.each(e2eVersions())('n8n %s with the package installed', (version) => {
	let n8n: N8n;

	beforeAll(async () => {
		n8n = await N8n.start({ version, tarball: tarball(), workflows: [manualWorkflow, ...templates] });
		process.stderr.write(`e2e: n8n ${version} started: ${JSON.stringify(n8n.timings)}\n`);
	});

	afterAll(async () => {
		await n8n?.stop();
	});

	it('lists every node of the package as n8n-nodes-hosted-inbox.<name>, with its versions', async () => {
		const known = new Map((await n8n.nodeTypes()).map((t) => [`${t.name}@${([] as number[]).concat(t.version).join(',')}`, t]));
		const expected = ourNodeTypes();
		expect(expected.length).toBeGreaterThan(0);
		for (const node of expected) {
			expect(known.has(`${node.type}@${node.versions.join(',')}`)).toBe(true);
		}
	});

	it('loads the package without errors and imports every template', () => {
		const log = n8n.output('main');
		expect(log).not.toMatch(/Failed to load package|Unrecognized node type|Skipping package/);
		expect(n8n.workflowIds).toHaveLength(1 + templates.length);
	});

	it('runs a workflow from its Manual Trigger and records a successful execution', async () => {
		const [workflowId] = n8n.workflowIds;
		const execution = await n8n.runManually(workflowId);
		expect(execution.status).toBe('success');
		const setRun = execution.data!.resultData.runData['Set greeting'][0] as { data: { main: Array<Array<{ json: Record<string, unknown> }>> } };
		expect(setRun.data.main[0][0].json).toEqual({ greeting: 'hello from n8n' });
	});
});
