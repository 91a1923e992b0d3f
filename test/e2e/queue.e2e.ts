import { N8N_CURRENT } from '../support/real-n8n';
import { smtpScenario } from './smtp-scenario';

/**
 * n8n's distributed engine: main (leader, runs the SMTP trigger) and one worker (runs the executions), n8n's data on
 * PostgreSQL, jobs through Redis, the package's store on PostgreSQL shared by both: mail in, tickets out, no duplicate.
 */
describe(`n8n ${N8N_CURRENT}, queue mode with one worker: the SMTP forwarding template end to end`, () => {
	const n8n = smtpScenario({ version: N8N_CURRENT, mode: 'queue', store: 'postgres' });

	it('ran every execution on the worker, none on main', async () => {
		const ids = (await n8n().executions(n8n().workflowIds[0])).map((e) => e.id);
		const onWorker = new Set([...n8n().output('worker').matchAll(/Worker finished execution (\d+)/g)].map((m) => m[1]));
		expect(ids.length).toBeGreaterThan(0);
		expect(ids.filter((id) => !onWorker.has(id))).toEqual([]);
	});
});
