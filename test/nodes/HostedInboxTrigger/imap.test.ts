/**
 * Hosted Inbox Trigger, "Receive via: IMAP mailbox", activated through n8n-core against a real Dovecot:
 * the same items as SMTP mode, acknowledgement only after a successful execution, retries, trust of
 * Authentication-Results by authserv-id, the size limit, clear activation errors.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { NodeOperationError, type IDataObject, type INodeParameters } from 'n8n-workflow';

import { FAILED_KEYWORD, TOO_LARGE_KEYWORD } from '../../../core/imap/mailbox-poller';
import { intakeItemSchema } from '../../../core/item';
import { HostedInboxTrigger } from '../../../nodes/HostedInboxTrigger/HostedInboxTrigger.node';
import { codeNode, packageNodeTypes, PACKAGE, startTrigger, type TriggerHandle, type WorkflowJson } from '../../support/n8n-engine';
import { describeEachNodeStore, type NodeStore } from '../../support/nodeStores';
import { PIPELINE_NODE_TYPES } from '../../support/pipeline';
import { Dovecot, describeWithDovecot } from '../../support/dovecot';
import { MailboxObserver, eventually, testMessage } from '../../core/imap/support';

const zoneFile = join(mkdtempSync(join(tmpdir(), 'hi-imap-zones-')), 'empty.json');
writeFileSync(zoneFile, '{}');

/** Subjects whose first execution fails, and how often each subject ran. */
const failFirst = new Set<string>();
const runs = new Map<string, number>();
const Downstream = codeNode(function (items) {
	for (const item of items) {
		const subject = ((item.json.email as IDataObject)?.subject as string) ?? '';
		const n = (runs.get(subject) ?? 0) + 1;
		runs.set(subject, n);
		if (failFirst.has(subject) && n === 1) throw new NodeOperationError(this.getNode(), `first attempt of "${subject}" fails`);
		if (subject.startsWith('always fails')) throw new NodeOperationError(this.getNode(), 'this workflow always fails');
	}
	return items;
});

const NODE_TYPES = { ...packageNodeTypes(HostedInboxTrigger), ...PIPELINE_NODE_TYPES, 'test.downstream': Downstream };

/** Two From headers: held (from-not-one-mailbox) whatever DNS says. */
function heldMessage(tag: string): { raw: Buffer; messageId: string } {
	const messageId = `<held-${tag}@customer.example>`;
	const raw = [
		'From: Quinn <quinn@customer.example>',
		'From: Mallory <mallory@customer.example>',
		'To: support@example.test',
		`Subject: held ${tag}`,
		`Message-ID: ${messageId}`,
		'Date: Tue, 24 Nov 2026 10:00:00 +0000',
		'MIME-Version: 1.0',
		'Content-Type: text/plain; charset=utf-8',
		'',
		'Please hold me.',
		'',
	].join('\r\n');
	return { raw: Buffer.from(raw), messageId };
}

describeWithDovecot('Hosted Inbox Trigger, IMAP mode, in n8n', () => {
	let dovecot: Dovecot;
	let observer: MailboxObserver;
	const previousZone = process.env.HOSTED_INBOX_DNS_ZONE;

	beforeAll(async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile;
		dovecot = await Dovecot.start();
		observer = new MailboxObserver(dovecot);
	});
	afterAll(async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = previousZone;
		await observer?.close();
		await dovecot?.destroy();
	});

	async function folder(name: string): Promise<string> {
		const c = dovecot.credentials;
		const client = new ImapFlow({ host: c.host, port: c.port, secure: false, auth: { user: c.user, pass: c.password }, logger: false });
		await client.connect();
		await client.mailboxCreate(name);
		await client.logout();
		return name;
	}

	function workflow(ns: NodeStore, params: INodeParameters, withPipeline = false): WorkflowJson {
		const to = (node: string) => [{ node, type: 'main' as const, index: 0 }];
		const credentials = { imap: { id: 'imap-test', name: 'Test IMAP' }, ...ns.nodeCredentials };
		const nodes: WorkflowJson['nodes'] = [
			{
				name: 'Hosted Inbox Trigger',
				type: `${PACKAGE}.hostedInboxTrigger`,
				parameters: { ...ns.params, receiveVia: 'imap', options: { retryDelaySeconds: 1, maxAttempts: 3 }, ...params },
				credentials,
			},
			{ name: 'Downstream', type: 'test.downstream', parameters: {} },
			{ name: 'Confirmation', type: 'n8n-nodes-base.noOp', parameters: {} },
			{ name: 'Aside', type: 'n8n-nodes-base.noOp', parameters: {} },
		];
		const connections: WorkflowJson['connections'] = { 'Hosted Inbox Trigger': { main: [to('Downstream'), to('Confirmation'), to('Aside')] } };
		if (withPipeline) {
			const ours = (name: string, type: string) => ({ name, type: `${PACKAGE}.${type}`, parameters: { ...ns.params }, ...(ns.nodeCredentials ? { credentials: ns.nodeCredentials } : {}) });
			nodes.push(ours('Resolve Original Sender', 'resolveOriginalSender'), ours('Route Conversation', 'routeConversation'), ours('Create Ticket', 'createTicket'));
			connections.Downstream = { main: [to('Resolve Original Sender')] };
			connections['Resolve Original Sender'] = { main: [to('Route Conversation')] };
			connections['Route Conversation'] = { main: [to('Create Ticket'), to('Create Ticket')] };
		}
		return { nodes, connections };
	}

	describeEachNodeStore('', (get) => {
		let handle: TriggerHandle | undefined;
		afterEach(async () => {
			await handle?.stop();
			handle = undefined;
		});

		async function start(params: INodeParameters, withPipeline = false, imap: IDataObject = {}) {
			const ns = get();
			handle = await startTrigger(workflow(ns, params, withPipeline), {
				nodeTypes: NODE_TYPES,
				credentials: { ...ns.credentials, imap: { ...dovecot.credentials, ...imap } },
			});
			return { ns, handle };
		}

		it('emits the same item as SMTP mode, runs the pipeline, and marks the message read only after the execution succeeded', async () => {
			const box = await folder(`Items-${get().engine}`);
			const { ns, handle } = await start({ mailbox: box, mailboxAddress: 'support@example.test' }, true);
			const message = testMessage(1, { tag: `items-${ns.engine}` });
			dovecot.deliver(message.raw, box);
			const [execution] = await handle.waitForExecutions(1, 20_000);
			expect(execution.error).toBeUndefined();
			const [item] = execution.emitted[0];
			expect(intakeItemSchema.safeParse(item.json).success).toBe(true);
			expect(item.json).toMatchObject({
				inbox: { address: 'support@example.test' },
				via: 'imap',
				kind: 'message',
				verdict: { action: 'accept' },
				envelope: { clientIp: null, helo: null, rcpt: ['support@example.test'] },
				originalSender: { address: 'customer1@customer.example' },
				thread: { messageId: `items-${ns.engine}-1@customer.example` },
			});
			const [ticketed] = execution.json('Create Ticket');
			expect(ticketed).toMatchObject({ contact: { email: 'customer1@customer.example' }, ticket: { name: `Question items-${ns.engine} 1` } });
			await eventually(async () => (await observer.flagsByMessageId(box)).get(message.messageId)?.has('\\Seen') === true, 5000, 'marked read');
		});

		it('takes SPF/DMARC from Authentication-Results only of the authserv-id the inbox names', async () => {
			const box = await folder(`Authserv-${get().engine}`);
			const results = (id: string) =>
				`Authentication-Results: ${id}; spf=pass smtp.mailfrom=customer.example; dkim=none; dmarc=pass header.from=customer.example`;
			const { handle } = await start({ mailbox: box, mailboxAddress: 'support@example.test', security: { trustedAuthservIds: 'mx.example.test' } });
			dovecot.deliver(testMessage(1, { tag: 'ar', headers: results('mx.example.test') }).raw, box);
			dovecot.deliver(testMessage(2, { tag: 'ar', headers: results('forged.example') }).raw, box);
			await eventually(() => handle.executions.flatMap((e) => e.emitted[0]).length === 2, 20_000, 'both messages');
			const items = handle.executions.flatMap((e) => e.emitted[0].map((i) => i.json as IDataObject));
			const bySubject = (s: string) => items.find((i) => (i.email as IDataObject).subject === s)!.auth as { spf: IDataObject };
			expect(bySubject('Question ar 1').spf).toMatchObject({ result: 'pass', clientIp: null, comment: expect.stringContaining('mx.example.test') });
			expect(bySubject('Question ar 2').spf).toMatchObject({ result: 'none' });
		});

		it('leaves a message whose execution failed untouched, retries it, and acknowledges it after the retry succeeded', async () => {
			const box = await folder(`Retry-${get().engine}`);
			const message = testMessage(1, { tag: `retry-${get().engine}` });
			failFirst.add(`Question retry-${get().engine} 1`);
			const { handle } = await start({ mailbox: box, mailboxAddress: 'support@example.test' });
			dovecot.deliver(message.raw, box);
			const [failed] = await handle.waitForExecutions(1, 20_000);
			expect(failed.error?.message).toMatch(/first attempt/);
			expect((await observer.flagsByMessageId(box)).get(message.messageId)?.has('\\Seen')).toBe(false);
			const [, retried] = await handle.waitForExecutions(2, 20_000);
			expect(retried.error).toBeUndefined();
			await eventually(async () => (await observer.flagsByMessageId(box)).get(message.messageId)?.has('\\Seen') === true, 5000, 'marked read');
			await new Promise((r) => setTimeout(r, 1500));
			expect(handle.executions).toHaveLength(2);
		});

		it('gives up after the last attempt: flagged, reported as a failed execution, never marked read', async () => {
			const box = await folder(`GiveUp-${get().engine}`);
			const message = testMessage(1, { tag: 'always fails' });
			const { handle } = await start({ mailbox: box, mailboxAddress: 'support@example.test', options: { retryDelaySeconds: 1, maxAttempts: 2 } });
			dovecot.deliver(message.raw.toString().replace('Subject: Question', 'Subject: always fails'), box);
			await handle.waitForExecutions(2, 20_000);
			await eventually(() => handle.failedExecutions.length >= 1, 5000, 'the give-up report');
			expect(handle.failedExecutions[0].message).toMatch(/failed in 2 executions and is no longer retried.*\$HostedInboxFailed/);
			await eventually(async () => (await observer.flagsByMessageId(box)).get(message.messageId)?.has(FAILED_KEYWORD) === true, 5000, 'flagged');
			expect((await observer.flagsByMessageId(box)).get(message.messageId)?.has('\\Seen')).toBe(false);
		});

		it('holds a quarantined message once, even when the execution of the batch it came in failed and the batch was retried', async () => {
			const box = await folder(`HeldRetry-${get().engine}`);
			const held = heldMessage(get().engine);
			const accepted = testMessage(1, { tag: `heldretry-${get().engine}` });
			failFirst.add(`Question heldretry-${get().engine} 1`);
			// Both wait in the mailbox before the trigger starts: taken in as one batch.
			dovecot.deliver(held.raw, box);
			dovecot.deliver(accepted.raw, box);
			await eventually(async () => (await observer.flagsByMessageId(box)).size === 2, 10_000, 'both in the mailbox');
			const { ns, handle } = await start({ mailbox: box, mailboxAddress: 'support@example.test', initialSync: 'unread' });
			await handle.waitForExecutions(2, 20_000);
			await eventually(async () => [...(await observer.flagsByMessageId(box)).values()].every((f) => f.has('\\Seen')), 10_000, 'both done');
			const inbox = await ns.store.getInbox('support@example.test');
			const quarantined = await ns.store.listQuarantined({ inboxId: inbox!.id });
			// One mailbox message, one held copy: a second copy could be released (and emitted) a second time.
			expect(quarantined.filter((q) => q.head.toString('latin1').includes(held.messageId)).map((q) => q.id)).toHaveLength(1);
		});

		it("after a UIDVALIDITY change, a copy the store recorded is done, a stranger's message reusing a recorded Message-ID is processed (not deleted unread)", async () => {
			const box = await folder(`Resync-${get().engine}`);
			const params = { mailbox: box, mailboxAddress: 'support@example.test', afterProcessing: 'delete' };
			const { ns } = await start(params, true);
			const [original, copied] = [1, 2].map((n) => testMessage(n, { tag: `resync-${ns.engine}` }));
			dovecot.deliver(original.raw, box);
			dovecot.deliver(copied.raw, box);
			await eventually(() => handle!.executions.flatMap((e) => e.emitted[0]).length === 2, 20_000, 'both taken in');
			const inbox = await ns.store.getInbox('support@example.test');
			await eventually(async () => (await ns.store.findMessage(inbox!.id, copied.messageId)) !== null, 5000, 'both recorded');
			await eventually(async () => (await observer.flagsByMessageId(box)).size === 0, 5000, 'both deleted');
			await handle!.stop();
			handle = undefined;

			// While the trigger is off the mailbox is restored with a copy of one of them, a stranger's message reusing the
			// other's Message-ID (another From, another body) arrives, and the server renumbers the mailbox.
			const stranger = original.raw
				.toString()
				.replace('From: Customer 1 <customer1@customer.example>', 'From: Mallory <mallory@elsewhere.example>')
				.replace(/Subject: .*/, 'Subject: a different message')
				.replace('Hello, this is question 1.', 'A different body entirely.');
			dovecot.deliver(copied.raw, box);
			dovecot.deliver(stranger, box);
			await dovecot.doveadm(['mailbox', 'update', '-u', dovecot.user, '--uid-validity', String(Math.floor(Date.now() / 1000) + 11), box]);
			await eventually(async () => (await observer.flagsByMessageId(box)).size === 2, 5000, 'both in the mailbox');

			const { handle: restarted } = await start(params, true);
			await eventually(async () => (await observer.flagsByMessageId(box)).size === 0, 10_000, 'both done and deleted');
			await new Promise((r) => setTimeout(r, 500));
			const emitted = restarted.executions.flatMap((e) => e.emitted[0]).map((i) => (i.json.email as IDataObject).subject);
			expect(emitted).toEqual(['a different message']);
		}, 60_000);

		it('flags mail over the size limit without downloading it, and logs it as refused', async () => {
			const box = await folder(`Size-${get().engine}`);
			const big = testMessage(1, { tag: `size-${get().engine}`, size: 1.5 * 1024 * 1024 });
			const { ns } = await start({ mailbox: box, mailboxAddress: 'support@example.test', security: { maxMessageMb: 1 } });
			dovecot.deliver(big.raw, box);
			await eventually(async () => (await observer.flagsByMessageId(box)).get(big.messageId)?.has(TOO_LARGE_KEYWORD) === true, 10_000, 'flagged too large');
			const inbox = await ns.store.getInbox('support@example.test');
			await eventually(
				async () => (await ns.store.listIntake({ inboxId: inbox!.id, kind: 'rejected' })).some((e) => e.messageId === `size-${ns.engine}-1@customer.example`),
				5000,
				'intake log entry',
			);
			expect(handle!.executions).toHaveLength(0);
		});

		it('fails the activation with a clear error on a wrong mailbox', async () => {
			await expect(start({ mailbox: 'Missing', mailboxAddress: 'support@example.test' })).rejects.toThrow(/mailbox "Missing" does not exist/);
		});
	});
});
