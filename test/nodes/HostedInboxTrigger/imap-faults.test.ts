/**
 * IMAP mode under faults, in n8n against a real Dovecot (long by design, ~1 min):
 * - 300 messages while the connection is cut in the middle of a FETCH, Dovecot is stopped for 20 s and
 *   started again, and the workflow fails on the first attempt of every 5th message;
 * - a UIDVALIDITY change in the middle of a delivery.
 * Afterwards every message produced exactly one successful execution, none was marked read before its
 * execution succeeded, and each outage was reported.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { NodeOperationError, type IDataObject, type INodeParameters } from 'n8n-workflow';

import { HostedInboxTrigger } from '../../../nodes/HostedInboxTrigger/HostedInboxTrigger.node';
import { codeNode, packageNodeTypes, PACKAGE, startTrigger, type TriggerHandle, type WorkflowJson } from '../../support/n8n-engine';
import { describeEachNodeStore, type NodeStore } from '../../support/nodeStores';
import { PIPELINE_NODE_TYPES } from '../../support/pipeline';
import { CuttableProxy, Dovecot, describeWithDovecot } from '../../support/dovecot';
import { MailboxObserver, eventually, testMessage } from '../../core/imap/support';

const zoneFile = join(mkdtempSync(join(tmpdir(), 'hi-imap-faults-')), 'empty.json');
writeFileSync(zoneFile, '{}');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the workflow saw (per test: each engine's run starts afresh): attempts per message, flags seen during its execution. */
const attempts = new Map<string, number>();
const markedBeforeSuccess: string[] = [];
let checkedWhileRunning = 0;
let observer: MailboxObserver | null = null;
let observedMailbox = 'INBOX';

/** Fails the first attempt of every 5th message; checks no message of the run is marked read yet. */
const Workflow = codeNode(async function (items) {
	let fail: string | null = null;
	for (const item of items) {
		const id = (item.json.thread as IDataObject).messageId as string;
		const n = Number(/-(\d+)@/.exec(id)?.[1]);
		const attempt = (attempts.get(id) ?? 0) + 1;
		attempts.set(id, attempt);
		if (n % 5 === 0 && attempt === 1) fail = id;
	}
	try {
		const flags = await observer!.flagsByMessageId(observedMailbox);
		for (const item of items) {
			const id = `<${(item.json.thread as IDataObject).messageId as string}>`;
			if (flags.get(id)?.has('\\Seen')) markedBeforeSuccess.push(id);
			checkedWhileRunning++;
		}
	} catch {
		// Dovecot is down right now: this run is not checked (the server cannot mark anything either).
	}
	if (fail) throw new NodeOperationError(this.getNode(), `first attempt of ${fail} fails`);
	return items;
});

const NODE_TYPES = { ...packageNodeTypes(HostedInboxTrigger), ...PIPELINE_NODE_TYPES, 'test.workflow': Workflow };

function successesByMessageId(handle: TriggerHandle): Map<string, number> {
	const counts = new Map<string, number>();
	for (const execution of handle.executions) {
		if (execution.error) continue;
		for (const item of execution.emitted[0]) {
			const id = (item.json.thread as IDataObject).messageId as string;
			counts.set(id, (counts.get(id) ?? 0) + 1);
		}
	}
	return counts;
}

describeWithDovecot('Hosted Inbox Trigger, IMAP mode, under faults', () => {
	let dovecot: Dovecot;
	let proxy: CuttableProxy;
	const previousZone = process.env.HOSTED_INBOX_DNS_ZONE;

	beforeAll(async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile;
		dovecot = await Dovecot.start();
		proxy = await CuttableProxy.start(dovecot.port);
		observer = new MailboxObserver(dovecot);
	});
	afterAll(async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = previousZone;
		await observer?.close();
		await proxy?.close();
		await dovecot?.destroy();
	});

	function workflow(ns: NodeStore, params: INodeParameters, withPipeline: boolean): WorkflowJson {
		const to = (node: string) => [{ node, type: 'main' as const, index: 0 }];
		const nodes: WorkflowJson['nodes'] = [
			{
				name: 'Hosted Inbox Trigger',
				type: `${PACKAGE}.hostedInboxTrigger`,
				parameters: {
					...ns.params,
					receiveVia: 'imap',
					mailboxAddress: 'support@example.test',
					options: { retryDelaySeconds: 1, maxAttempts: 5 },
					imapSettings: { reconnectMaxDelaySeconds: 2 },
					...params,
				},
				credentials: { imap: { id: 'imap-test', name: 'Test IMAP' }, ...ns.nodeCredentials },
			},
			{ name: 'Workflow', type: 'test.workflow', parameters: {} },
		];
		const connections: WorkflowJson['connections'] = { 'Hosted Inbox Trigger': { main: [to('Workflow')] } };
		if (withPipeline) {
			const ours = (name: string, type: string) => ({ name, type: `${PACKAGE}.${type}`, parameters: { ...ns.params }, ...(ns.nodeCredentials ? { credentials: ns.nodeCredentials } : {}) });
			nodes.push(ours('Resolve Original Sender', 'resolveOriginalSender'), ours('Route Conversation', 'routeConversation'), ours('Create Ticket', 'createTicket'));
			connections.Workflow = { main: [to('Resolve Original Sender')] };
			connections['Resolve Original Sender'] = { main: [to('Route Conversation')] };
			connections['Route Conversation'] = { main: [to('Create Ticket'), to('Create Ticket')] };
		}
		return { nodes, connections };
	}

	async function folder(name: string): Promise<string> {
		const c = dovecot.credentials;
		const client = new ImapFlow({ host: c.host, port: c.port, secure: false, auth: { user: c.user, pass: c.password }, logger: false });
		await client.connect();
		await client.mailboxCreate(name);
		await client.logout();
		return name;
	}

	describeEachNodeStore(
		'',
		(get) => {
			let handle: TriggerHandle | undefined;
			afterEach(async () => {
				await handle?.stop();
				handle = undefined;
			});

			it('300 messages through a cut mid-fetch, a 20 s Dovecot outage and failing first attempts: each exactly one successful execution, none marked before it', async () => {
				const ns = get();
				attempts.clear();
				markedBeforeSuccess.length = 0;
				checkedWhileRunning = 0;
				// One Dovecot for both engines' runs: a folder and Message-IDs of their own.
				const tag = `fault-${ns.engine}`;
				observedMailbox = await folder(`Faults-${ns.engine}`);
				handle = await startTrigger(workflow(ns, { mailbox: observedMailbox }, false), {
					nodeTypes: NODE_TYPES,
					credentials: { ...ns.credentials, imap: { ...dovecot.credentials, port: proxy.port } },
				});
				const ids = Array.from({ length: 300 }, (_, i) => testMessage(i + 1, { tag }).messageId.slice(1, -1));

				// 1. 100 messages of 30 KB at once; the link dies after 1.5 MB of the server's answers.
				const cut = proxy.cutAfterServerBytes(1_500_000);
				for (let n = 1; n <= 100; n++) dovecot.deliver(testMessage(n, { tag, size: 30 * 1024 }).raw, observedMailbox);
				await cut;
				const successesAtCut = successesByMessageId(handle).size;
				expect(successesAtCut).toBeLessThan(100);
				// The cut is reported and the trigger is back at work before the next outage, so the two are
				// two reports whatever the machine's pace (on a slow one they could otherwise merge into one).
				const lostConnection = () => handle!.failedExecutions.filter((e) => /Lost the IMAP connection/.test(e.message));
				await eventually(() => lostConnection().length >= 1, 60_000, 'the cut reported');
				await eventually(() => successesByMessageId(handle!).size > successesAtCut, 60_000, 'work going on after the cut');

				// 2. 200 more at 20 per second; 2 s in, Dovecot goes away for 20 s (delivery to the maildir goes on).
				const delivery = (async () => {
					for (let n = 101; n <= 300; n++) {
						dovecot.deliver(testMessage(n, { tag }).raw, observedMailbox);
						await sleep(50);
					}
				})();
				await sleep(2000);
				await dovecot.stop();
				await sleep(20_000);
				await dovecot.resume();
				await delivery;

				await eventually(
					() => ids.every((id) => successesByMessageId(handle!).has(id)),
					120_000,
					'every message through a successful execution',
					() => `${successesByMessageId(handle!).size} of 300`,
				);
				await sleep(2500);
				const counts = successesByMessageId(handle);
				expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
				expect(counts.size).toBe(300);
				// Every 5th failed once and succeeded on a retry.
				for (const id of ids.filter((_, i) => (i + 1) % 5 === 0)) expect(attempts.get(id)).toBeGreaterThanOrEqual(2);
				expect(markedBeforeSuccess).toEqual([]);
				expect(checkedWhileRunning).toBeGreaterThan(250);
				await eventually(
					async () => [...(await observer!.flagsByMessageId(observedMailbox)).values()].filter((f) => f.has('\\Seen')).length === 300,
					60_000,
					'all 300 marked read',
				);
				// The cut and the stopped server: each reported (once per outage, not per reconnect attempt).
				expect(lostConnection().length).toBeGreaterThanOrEqual(2);
				expect(lostConnection().length).toBeLessThanOrEqual(4);
			}, 420_000);

			it('a UIDVALIDITY change mid-delivery: nothing lost, nothing twice', async () => {
				const ns = get();
				const tag = `uidv-${ns.engine}`;
				observedMailbox = await folder(`Renumbered-${ns.engine}`);
				handle = await startTrigger(workflow(ns, { mailbox: observedMailbox }, true), {
					nodeTypes: NODE_TYPES,
					credentials: { ...ns.credentials, imap: dovecot.credentials },
				});
				const ids = Array.from({ length: 80 }, (_, i) => testMessage(i + 1, { tag }).messageId.slice(1, -1));
				const renumbered = String(Math.floor(Date.now() / 1000) + 7);
				for (let n = 1; n <= 80; n++) {
					dovecot.deliver(testMessage(n, { tag }).raw, observedMailbox);
					await sleep(25);
					if (n === 40) await dovecot.doveadm(['mailbox', 'update', '-u', dovecot.user, '--uid-validity', renumbered, observedMailbox]);
				}
				await eventually(
					() => ids.every((id) => successesByMessageId(handle!).has(id)),
					60_000,
					'every message through a successful execution',
					() => `${successesByMessageId(handle!).size} of 80`,
				);
				await sleep(2500);
				const counts = successesByMessageId(handle);
				expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
				// The trigger did resync onto the new numbering.
				const checkpoint = await ns.store.getMailboxCheckpoint(`${dovecot.user}@127.0.0.1:${dovecot.port}/${observedMailbox}`);
				expect(checkpoint?.uidValidity).toBe(renumbered);
				// One conversation per message in the store: the pipeline saw no replay either.
				const inbox = await ns.store.getInbox('support@example.test');
				const recorded = await Promise.all(ids.map(async (id) => await ns.store.findMessage(inbox!.id, id)));
				expect(recorded.every(Boolean)).toBe(true);
				await eventually(
					async () => [...(await observer!.flagsByMessageId(observedMailbox)).values()].filter((f) => f.has('\\Seen')).length === 80,
					10_000,
					'all 80 marked read',
				);
			}, 120_000);
		},
	);
});
