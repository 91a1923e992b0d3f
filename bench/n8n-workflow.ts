/** What the benchmarks in a real n8n import: one trigger followed by n8n's No Operation node. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes the workflow `bench <name>` (trigger -> No Operation) to `<dir>/<key>.json` and returns its path. */
export function triggerWorkflowFile(dir: string, key: string, name: string, trigger: Record<string, unknown>): string {
	const file = join(dir, `${key}.json`);
	writeFileSync(
		file,
		JSON.stringify({
			name: `bench ${name}`,
			nodes: [
				{ ...trigger, name: 'Trigger', id: `${key}-trigger`, position: [0, 0] },
				{ name: 'Done', id: `${key}-done`, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [220, 0], parameters: {} },
			],
			connections: { Trigger: { main: [[{ node: 'Done', type: 'main', index: 0 }]] } },
			settings: { executionOrder: 'v1' },
		}),
	);
	return file;
}
