/**
 * The crash test's n8n: activates Hosted Inbox Trigger (SMTP) -> Resolve Original Sender -> Route Conversation ->
 * Create Ticket through the in-process n8n harness, then runs until it is killed.
 * argv: <script> <port> <sqlite|postgres> <postgres schema> [die after this many spool writes, before the 250]
 * env: HOSTED_INBOX_TEST_PG (the test's PostgreSQL URL); N8N_USER_FOLDER (where the embedded store lives)
 */
import { HostedInboxTrigger } from '../../../../nodes/HostedInboxTrigger/HostedInboxTrigger.node';
import { embeddedOptions, postgresOptionsFromCredential, sharedStore } from '../../../../nodes/shared/store';
import { packageNodeTypes, PACKAGE, startTrigger, type WorkflowJson } from '../../../support/n8n-engine';
import { PIPELINE_NODE_TYPES } from '../../../support/pipeline';
import { TEST_PG_URL } from '../../../support/stores';

const [port, engine, schema, dieAfterSpoolWrites] = process.argv.slice(3);
const embedded = engine === 'sqlite';

async function main(): Promise<void> {
	const url = new URL(TEST_PG_URL);
	const credential = { host: url.hostname, port: Number(url.port) || 5432, database: url.pathname.slice(1) || 'postgres', user: decodeURIComponent(url.username) || 'postgres', password: decodeURIComponent(url.password), ssl: 'disable' };
	if (dieAfterSpoolWrites) {
		// The nastiest moment: the message is durably spooled, the sender has not had its 250 yet.
		const store = await sharedStore(embedded ? embeddedOptions() : postgresOptionsFromCredential(credential, schema));
		const spoolPut = store.spoolPut.bind(store);
		let writes = 0;
		store.spoolPut = async (input) => {
			const entry = await spoolPut(input);
			if (++writes >= Number(dieAfterSpoolWrites)) process.kill(process.pid, 'SIGKILL');
			return entry;
		};
	}
	const params = embedded ? { store: 'embedded' } : { store: 'postgres', storeSchema: schema };
	const credentials = embedded ? undefined : { postgres: { id: 'pg', name: 'PostgreSQL' } };
	const to = (node: string) => [{ node, type: 'main' as const, index: 0 }];
	const ours = (name: string, type: string, extra = {}) => ({ name, type: `${PACKAGE}.${type}`, parameters: { ...params, ...extra }, ...(credentials ? { credentials } : {}) });
	const workflow: WorkflowJson = {
		nodes: [
			ours('Hosted Inbox Trigger', 'hostedInboxTrigger', {
				receiveVia: 'smtp',
				forwardingLocalPart: 'support',
				forwardingDomain: 'inbox.example.test',
				smtpHost: '127.0.0.1',
				smtpPort: Number(port),
				options: { retryDelaySeconds: 1 },
			}),
			ours('Resolve Original Sender', 'resolveOriginalSender'),
			ours('Route Conversation', 'routeConversation'),
			ours('Create Ticket', 'createTicket'),
		],
		connections: {
			'Hosted Inbox Trigger': { main: [to('Resolve Original Sender')] },
			'Resolve Original Sender': { main: [to('Route Conversation')] },
			'Route Conversation': { main: [to('Create Ticket'), to('Create Ticket')] },
		},
	};
	const handle = await startTrigger(workflow, {
		nodeTypes: { ...packageNodeTypes(HostedInboxTrigger), ...PIPELINE_NODE_TYPES },
		credentials: { postgres: credential },
	});
	handle.onExecution((execution) => process.stdout.write(`execution ${execution.error ? 'failed' : 'ok'}\n`));
	process.stdout.write('ready\n');
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack ?? error.message}\n`);
	process.exit(1);
});
