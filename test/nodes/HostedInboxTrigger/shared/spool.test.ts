/**
 * The trigger's spool delivery, run in n8n's engine: a failed message re-driven with "Check Again" is decided anew when
 * it is emitted; a message the checks would no longer accept is held for review, not emitted aside and completed
 * (it would then reach no workflow, be in no quarantine, and expire with delivered mail).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { bytesOf } from '../../../../core/message-bytes';
import { redriveFailed } from '../../../../core/spool/spool';
import { HostedInboxTrigger } from '../../../../nodes/HostedInboxTrigger/HostedInboxTrigger.node';
import { codeNode, packageNodeTypes, PACKAGE, startTrigger, type TriggerHandle, type WorkflowJson } from '../../../support/n8n-engine';
import { describeEachNodeStore, type NodeStore } from '../../../support/nodeStores';
import { freePort } from '../../../support/ports';

const zoneFile = join(mkdtempSync(join(tmpdir(), 'hi-spool-')), 'empty.json');
writeFileSync(zoneFile, '{}');

const Downstream = codeNode(function (items) {
	return items;
});
const NODE_TYPES = { ...packageNodeTypes(HostedInboxTrigger), 'test.downstream': Downstream };

function workflow(ns: NodeStore, port: number): WorkflowJson {
	const to = (node: string) => [{ node, type: 'main' as const, index: 0 }];
	return {
		nodes: [
			{
				name: 'Hosted Inbox Trigger',
				type: `${PACKAGE}.hostedInboxTrigger`,
				parameters: { ...ns.params, receiveVia: 'smtp', forwardingLocalPart: 'support', forwardingDomain: 'inbox.example.test', smtpHost: '127.0.0.1', smtpPort: port, options: { retryDelaySeconds: 1 } },
				...(ns.nodeCredentials ? { credentials: ns.nodeCredentials } : {}),
			},
			{ name: 'Downstream', type: 'test.downstream', parameters: {} },
			{ name: 'Confirmation', type: 'n8n-nodes-base.noOp', parameters: {} },
			{ name: 'Aside', type: 'n8n-nodes-base.noOp', parameters: {} },
		],
		connections: { 'Hosted Inbox Trigger': { main: [to('Downstream'), to('Confirmation'), to('Aside')] } },
	};
}

describeEachNodeStore('Hosted Inbox Trigger: a message re-driven with Check Again', (get) => {
	let handle: TriggerHandle | undefined;
	const previousZone = process.env.HOSTED_INBOX_DNS_ZONE;
	beforeEach(() => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile;
	});
	afterEach(async () => {
		await handle?.stop();
		handle = undefined;
		process.env.HOSTED_INBOX_DNS_ZONE = previousZone;
	});

	it('holds a failed message the re-check would not accept, in the quarantine and the intake log; nothing is emitted', async () => {
		const ns = get();
		const inbox = await ns.store.registerInbox({ address: 'support@inbox.example.test' });
		// A message the workflow failed on; under the checks it is run through now, it is held (two From headers).
		const raw = Buffer.from(
			'From: Quinn <quinn@customer.example>\r\nFrom: Other <other@customer.example>\r\nTo: support@inbox.example.test\r\nSubject: rechecked\r\nMessage-ID: <rechecked-1@customer.example>\r\n\r\nbody\r\n',
		);
		const entry = await ns.store.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope: { clientIp: '192.0.2.7', helo: 'mx.customer.example', mailFrom: 'quinn@customer.example', rcpt: ['support@inbox.example.test'] } });
		await ns.store.spoolFail(entry.id, 'workflow failed', { nextAttemptAt: new Date().toISOString(), maxAttempts: 1 });
		await redriveFailed(ns.store, entry.id, { recheck: true });

		const port = await freePort();
		handle = await startTrigger(workflow(ns, port), { nodeTypes: NODE_TYPES, credentials: ns.credentials });
		for (let i = 0; i < 100 && (await ns.store.spoolGet(entry.id))?.status === 'pending'; i++) await new Promise((r) => setTimeout(r, 100));
		expect(await ns.store.spoolGet(entry.id)).toMatchObject({ status: 'quarantined', decision: { verdict: { action: 'quarantine', flags: expect.arrayContaining(['from-not-one-mailbox']) } } });
		expect((await ns.store.listIntake({ inboxId: inbox.id })).map((logged) => [logged.kind, logged.details.spoolId])).toEqual([['quarantined', entry.id]]);
		// Past a sweep or two: still nothing emitted on any output.
		await new Promise((r) => setTimeout(r, 1500));
		expect(handle.executions.flatMap((e) => e.emitted.flat()).filter((i) => (i.json.email as IDataObject)?.subject === 'rechecked')).toEqual([]);
	}, 30_000);
});
