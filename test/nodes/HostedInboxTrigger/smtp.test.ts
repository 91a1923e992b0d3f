import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeOperationError, type IDataObject, type INodeParameters } from 'n8n-workflow';
import { createTransport } from 'nodemailer';

import { bytesOf } from '../../../core/message-bytes';
import { intakeItemSchema } from '../../../core/item';
import { HostedInboxTrigger } from '../../../nodes/HostedInboxTrigger/HostedInboxTrigger.node';
import { codeNode, packageNodeTypes, PACKAGE, n8nLogger, startTrigger, storedBinaryData, useFilesystemBinaryData, type TriggerHandle, type WorkflowJson } from '../../support/n8n-engine';
import { runCli } from '../../support/cli';
import { CORPUS, corpus } from '../../support/items';
import { describeEachNodeStore, type NodeStore } from '../../support/nodeStores';
import { PIPELINE_NODE_TYPES } from '../../support/pipeline';
import { spooledRaw } from '../../support/stores';
import { freePort } from '../../support/ports';
import { arcSeal, compose, rewriteHeader, sign, testWorld } from '../../fixtures/mail';

const zoneDir = mkdtempSync(join(tmpdir(), 'hi-zones-'));
/** Keys made at run time and their zone: company.test and customer.test publish p=reject, forwarder.test seals ARC. */
const world = testWorld();

function zoneFile(name: string, zone: object): string {
	const path = join(zoneDir, `${name}.json`);
	writeFileSync(path, JSON.stringify(zone));
	return path;
}

/** A failure switch the downstream node reads: message subjects that should fail their first execution. */
const failFirst = new Set<string>();
const attempts = new Map<string, number>();
const Downstream = codeNode(function (items) {
	for (const item of items) {
		const subject = ((item.json.email as IDataObject)?.subject as string) ?? '';
		const n = (attempts.get(subject) ?? 0) + 1;
		attempts.set(subject, n);
		if (failFirst.has(subject) && n === 1) throw new NodeOperationError(this.getNode(), `first attempt of "${subject}" fails`);
		if (subject.startsWith('always fails')) throw new NodeOperationError(this.getNode(), 'this workflow always fails');
	}
	return items;
});

const NODE_TYPES = { ...packageNodeTypes(HostedInboxTrigger), ...PIPELINE_NODE_TYPES, 'test.downstream': Downstream };

function workflow(ns: NodeStore, port: number, params: INodeParameters = {}, withPipeline = false): WorkflowJson {
	const credentials = ns.nodeCredentials;
	const to = (node: string) => [{ node, type: 'main' as const, index: 0 }];
	const nodes: WorkflowJson['nodes'] = [
		{
			name: 'Hosted Inbox Trigger',
			type: `${PACKAGE}.hostedInboxTrigger`,
			parameters: {
				...ns.params,
				receiveVia: 'smtp',
				forwardingLocalPart: 'support',
				forwardingDomain: 'inbox.example.test',
				smtpHost: '127.0.0.1',
				smtpPort: port,
				...params,
			},
			...(credentials ? { credentials } : {}),
		},
		{ name: 'Downstream', type: 'test.downstream', parameters: {} },
		{ name: 'Confirmation', type: 'n8n-nodes-base.noOp', parameters: {} },
		{ name: 'Aside', type: 'n8n-nodes-base.noOp', parameters: {} },
	];
	const connections: WorkflowJson['connections'] = {
		'Hosted Inbox Trigger': { main: [to('Downstream'), to('Confirmation'), to('Aside')] },
	};
	if (withPipeline) {
		const ours = (name: string, type: string, p: INodeParameters = {}) => ({ name, type: `${PACKAGE}.${type}`, parameters: { ...ns.params, ...p }, ...(credentials ? { credentials } : {}) });
		nodes.push(ours('Resolve Original Sender', 'resolveOriginalSender'), ours('Route Conversation', 'routeConversation'), ours('Create Ticket', 'createTicket'));
		connections.Downstream = { main: [to('Resolve Original Sender')] };
		connections['Resolve Original Sender'] = { main: [to('Route Conversation')] };
		connections['Route Conversation'] = { main: [to('Create Ticket'), to('Create Ticket')] };
	}
	return { nodes, connections };
}

function gmailConfirmation(): string {
	return [
		'From: Gmail Team <forwarding-noreply@google.com>',
		'To: support@inbox.example.test',
		'Subject: (#482913576) Gmail Forwarding Confirmation - Receive Mail from jane.doe@gmail.com',
		'Message-ID: <confirm-482913576@google.com>',
		'Date: Mon, 03 Mar 2025 09:00:00 +0000',
		'Content-Type: text/plain; charset=UTF-8',
		'',
		'jane.doe@gmail.com has requested to automatically forward mail to your email',
		'address support@inbox.example.test.',
		'Confirmation code: 482913576',
		'',
		'To allow jane.doe@gmail.com to automatically forward mail to your address,',
		'please click the link below to confirm the request:',
		'',
		'https://mail-settings.google.com/mail/vf-%5BANGjdJ9xSample%5D-AbCdEfGhIjKlMnOp',
		'',
		'If you click the link and it appears to be broken, please copy and paste it',
		'into a new browser window.',
		'',
	].join('\r\n');
}

describeEachNodeStore('Hosted Inbox Trigger, SMTP mode, in n8n', (get) => {
	let handle: TriggerHandle | undefined;
	const previousZone = process.env.HOSTED_INBOX_DNS_ZONE;

	beforeEach(() => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile('empty', {});
	});
	afterEach(async () => {
		await handle?.stop();
		handle = undefined;
		process.env.HOSTED_INBOX_DNS_ZONE = previousZone;
	});

	async function start(params: INodeParameters = {}, withPipeline = false) {
		const ns = get();
		const port = await freePort();
		handle = await startTrigger(workflow(ns, port, params, withPipeline), { nodeTypes: NODE_TYPES, credentials: ns.credentials });
		const transport = createTransport({ host: '127.0.0.1', port, ignoreTLS: true, name: 'mx.sender.example' });
		const inbox = await ns.store.getInbox('support@inbox.example.test');
		return { ns, port, handle, transport, inboxId: inbox!.id };
	}

	it('accepts a message (250 after the spool), runs the workflow with the item, attachments as binary data, and completes the spool entry', async () => {
		const { handle, transport, ns, inboxId } = await start({ options: { includeRaw: true } }, true);
		const info = await transport.sendMail({
			from: 'Jane Customer <jane@customer.example>',
			to: 'support@inbox.example.test',
			subject: 'Printer on fire',
			text: 'Please help',
			messageId: '<printer-1@customer.example>',
			attachments: [{ filename: 'photo.txt', content: 'smoke' }],
		});
		expect(info.response).toMatch(/^250 2\.0\.0 Queued as /);
		const [execution] = await handle.waitForExecutions(1, 20_000);
		expect(execution.error).toBeUndefined();
		const [item] = execution.emitted[0];
		expect(intakeItemSchema.safeParse(item.json).success).toBe(true);
		expect(item.json).toMatchObject({
			inbox: { address: 'support@inbox.example.test' },
			via: 'smtp',
			kind: 'message',
			verdict: { action: 'accept' },
			envelope: { clientIp: '127.0.0.1', helo: 'mx.sender.example', rcpt: ['support@inbox.example.test'] },
			email: { subject: 'Printer on fire', attachments: [{ filename: 'photo.txt', binaryKey: 'attachment_0' }] },
			originalSender: { address: 'jane@customer.example' },
			thread: { messageId: 'printer-1@customer.example' },
		});
		expect(item.binary?.attachment_0).toMatchObject({ fileName: 'photo.txt' });
		expect(item.binary?.raw).toMatchObject({ mimeType: 'message/rfc822' });
		// The real pipeline nodes made it a conversation with a ticket.
		const [ticketed] = execution.json('Create Ticket');
		expect(ticketed).toMatchObject({ contact: { email: 'jane@customer.example' }, ticket: { name: 'Printer on fire' } });
		for (let i = 0; i < 50 && (await ns.store.spoolList({ inboxId, status: 'pending' })).length; i++) await new Promise((r) => setTimeout(r, 100));
		expect(await ns.store.spoolList({ inboxId, status: 'pending' })).toEqual([]);
		expect((await ns.store.spoolList({ inboxId, status: 'done' })).length).toBeGreaterThanOrEqual(1);
	});

	it('puts a Gmail forwarding confirmation on the Forwarding confirmation output with its code and link, and logs it', async () => {
		const { handle, transport, ns, inboxId } = await start();
		await transport.sendMail({ envelope: { from: 'forwarding-noreply@google.com', to: ['support@inbox.example.test'] }, raw: gmailConfirmation() });
		const [execution] = await handle.waitForExecutions(1, 20_000);
		expect(execution.emitted[0]).toEqual([]);
		const [item] = execution.emitted[1];
		expect(item.json).toMatchObject({
			kind: 'forwarding-confirmation',
			verification: {
				provider: 'google',
				code: '482913576',
				confirmUrl: 'https://mail-settings.google.com/mail/vf-%5BANGjdJ9xSample%5D-AbCdEfGhIjKlMnOp',
				requestedBy: 'jane.doe@gmail.com',
			},
		});
		expect(execution.json('Confirmation')).toHaveLength(1);
		expect(() => execution.items('Downstream')).toThrow(/did not run/);
		const [logged] = await ns.store.listIntake({ inboxId, kind: 'forwarding-confirmation' });
		expect(logged.details).toMatchObject({ verification: { code: '482913576' } });
	});

	it('refuses a DMARC p=reject failure with 550 5.7.1 and the reasons, logs it, and sets it aside only when that output is on', async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile('world', world.zone);
		const { handle, transport, ns, inboxId } = await start({ options: { emitRejected: true } });
		const forged = { from: 'ceo@company.test', to: 'support@inbox.example.test', subject: 'Wire money', text: 'now' };
		const error = await transport.sendMail(forged).catch((e: { responseCode: number; response: string }) => e);
		expect(error).toMatchObject({ responseCode: 550, response: expect.stringMatching(/^550 5\.7\.1 dmarc=fail \(p=reject\) for company\.test: /) });
		const [logged] = await ns.store.listIntake({ inboxId, kind: 'rejected' });
		expect(logged).toMatchObject({ clientIp: '127.0.0.1', from: 'ceo@company.test', subject: 'Wire money', details: { verdict: { smtpCode: 550 } } });
		// Batched: it comes out on the third output within the batch delay.
		const [execution] = await handle.waitForExecutions(1, 20_000);
		expect(execution.emitted[2].map((i) => i.json)).toMatchObject([{ verdict: { action: 'reject' }, email: { subject: 'Wire money' } }]);
	});

	it('holds a p=quarantine failure in the spool (250 2.6.0 with its id); released from the CLI, it comes out of Message once, within 5 s, saying who released it', async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile('world', world.zone);
		const { handle, transport, ns, inboxId } = await start({}, true);
		const subject = `Held ${ns.engine}`;
		const info = await transport.sendMail({ from: 'Quinn <quinn@quarantined.test>', to: 'support@inbox.example.test', subject, text: 'is this real?' });
		const held = /^250 2\.6\.0 Message accepted and held for review as (\S+)$/.exec(info.response);
		expect(held).not.toBeNull();
		const id = held![1];
		expect(await ns.store.spoolDue(inboxId, new Date(Date.now() + 3600_000).toISOString())).toEqual([]);
		const [logged] = await ns.store.listIntake({ inboxId, kind: 'quarantined' });
		expect(logged.details).toMatchObject({ spoolId: id, verdict: { action: 'quarantine' } });

		const listed = await runCli(['store', 'quarantine', 'list', '--store', ns.cliStore, '--json']);
		expect(listed).toMatchObject({ code: 0, stderr: '' });
		const entry = (JSON.parse(listed.stdout) as Array<Record<string, unknown>>).find((q) => q.id === id);
		expect(Object.keys(entry!).sort()).toEqual(['from', 'id', 'reasons', 'receivedAt', 'subject']);
		expect(entry).toMatchObject({ from: 'quinn@quarantined.test', subject, reasons: expect.arrayContaining([expect.stringMatching(/quarantine/)]) });
		expect(handle.executions).toHaveLength(0);

		const released = await runCli(['store', 'quarantine', 'release', id, '--by', 'ana@company.test', '--store', ns.cliStore]);
		expect(released).toMatchObject({ code: 0, stdout: `released ${id}: the trigger of its inbox emits it within seconds\n` });
		const releasedAt = Date.now();
		const [execution] = await handle.waitForExecutions(1, 10_000);
		expect(Date.now() - releasedAt).toBeLessThan(5_000 + 1_000);
		expect(execution.emitted[0][0].json).toMatchObject({
			verdict: { action: 'quarantine' },
			released: { by: 'ana@company.test' },
			email: { subject },
			originalSender: { address: 'quinn@quarantined.test', trusted: false },
		});
		expect(execution.json('Create Ticket')).toMatchObject([{ contact: { email: 'quinn@quarantined.test' }, ticket: { name: subject } }]);
		// Once: the next sweeps find nothing more to emit, and the entry is done.
		await new Promise((r) => setTimeout(r, 6_000));
		expect(handle.executions).toHaveLength(1);
		expect((await ns.store.spoolGet(id))?.status).toBe('done');
		expect(await runCli(['store', 'quarantine', 'release', id, '--store', ns.cliStore])).toMatchObject({ code: 2, stderr: expect.stringContaining(`No quarantined message with id ${id}`) });
	});

	it('"Accept everything, only flag" accepts the same failure onto Message, flagged', async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile('world', world.zone);
		const { handle, transport } = await start({ security: { dmarcPolicy: 'monitor' } });
		await transport.sendMail({ from: 'ceo@company.test', to: 'support@inbox.example.test', subject: 'Monitored', text: 'x' });
		const [execution] = await handle.waitForExecutions(1, 20_000);
		const [item] = execution.emitted[0];
		expect(item.json).toMatchObject({ verdict: { action: 'accept' }, email: { subject: 'Monitored' } });
		expect((item.json.verdict as IDataObject).flags).toEqual(expect.arrayContaining(['monitor-mode']));
	});

	it('accepts a forward whose DMARC fails but whose ARC chain from a trusted sealer passes, and refuses it from an untrusted sealer', async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile('world', world.zone);
		// The customer signs; the forwarder alters the subject (breaking DKIM, so DMARC fails) and ARC-seals what it saw.
		const signed = await sign(await compose({ from: 'Carol <carol@customer.test>', to: 'support@inbox.example.test', subject: 'Order late', text: 'Where is it?' }), world.customer);
		const raw = await arcSeal(rewriteHeader(signed, 'Subject', (subject) => `[fwd] ${subject}`), world.forwarder, 'forwarder.test; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test');
		const envelope = { from: 'bounces@forwarder.test', to: ['support@inbox.example.test'] };

		const trusted = await start({ security: { trustedArcSealers: 'forwarder.test' } });
		expect((await trusted.transport.sendMail({ envelope, raw })).response).toMatch(/^250 /);
		const [execution] = await trusted.handle.waitForExecutions(1, 20_000);
		expect(execution.emitted[0][0].json).toMatchObject({
			verdict: { action: 'accept', flags: expect.arrayContaining(['dmarc-fail-arc-rescued']) },
			originalSender: { address: 'carol@customer.test' },
			auth: { dmarc: { result: 'fail' }, arc: { result: 'pass', sealer: 'forwarder.test', trusted: true } },
		});
		await trusted.handle.stop();

		const untrusted = await start({ security: { trustedArcSealers: 'google.com' } });
		const refusal = await untrusted.transport.sendMail({ envelope, raw }).catch((e: { responseCode: number; response: string }) => e);
		expect(refusal).toMatchObject({ responseCode: 550, response: expect.stringContaining('forwarder.test is not in this inbox') });
	});

	it('warns at activation that trusted authserv-ids without trusted relays are ignored, and refuses the header a client wrote', async () => {
		process.env.HOSTED_INBOX_DNS_ZONE = zoneFile('world', world.zone);
		const warn = jest.spyOn(n8nLogger(), 'warn');
		try {
			const { transport, ns, inboxId } = await start({ security: { trustedAuthservIds: 'mx.company.test' } });
			expect(warn).toHaveBeenCalledWith(expect.stringContaining('Trusted Authentication-Results servers (mx.company.test) are ignored without Trusted Relays'));
			const raw = Buffer.concat([
				Buffer.from('Authentication-Results: mx.company.test; dmarc=pass header.from=customer.test\r\n'),
				await compose({ from: 'carol@customer.test', to: 'support@inbox.example.test', subject: 'forged results', text: 'x' }),
			]);
			const refusal = await transport.sendMail({ envelope: { from: 'carol@customer.test', to: ['support@inbox.example.test'] }, raw }).catch((e: { responseCode: number }) => e);
			expect(refusal).toMatchObject({ responseCode: 550 });
			const [logged] = await ns.store.listIntake({ inboxId, kind: 'rejected' });
			expect(logged.details).toMatchObject({ verdict: { flags: expect.arrayContaining(['authentication-results-ignored']) } });
		} finally {
			warn.mockRestore();
		}
	});

	const arcPass = join(CORPUS, 'mailauth', 'arc-pass.eml');
	corpus.it(
		'accepts a Gmail forward whose DMARC fails but whose google.com ARC chain passes (corpus arc-pass.eml)',
		async () => {
			process.env.HOSTED_INBOX_DNS_ZONE = join(CORPUS, 'dns', 'mailauth-fixtures.json');
			const { handle, transport } = await start({ security: { trustedArcSealers: 'google.com' } });
			const raw = readFileSync(arcPass);
			const info = await transport.sendMail({ envelope: { from: 'andris+caf_=andris.reinman=gmail.com@tr.ee', to: ['support@inbox.example.test'] }, raw });
			expect(info.response).toMatch(/^250 /);
			const [execution] = await handle.waitForExecutions(1, 20_000);
			expect(execution.emitted[0][0].json).toMatchObject({
				verdict: { action: 'accept' },
				originalSender: { address: 'andris@ekiri.ee', forwardedBy: 'andris@tr.ee' },
				auth: { dmarc: { result: 'fail' }, arc: { result: 'pass', trusted: true } },
			});
		},
	);

	it('re-emits after a failed execution with backoff, and reports a message that fails every attempt', async () => {
		const { handle, transport, ns, inboxId } = await start({ options: { retryDelaySeconds: 1, maxAttempts: 2 } });
		// Per engine: the downstream node counts attempts by subject for the whole file.
		const flaky = `flaky once ${ns.engine}`;
		const doomed = `always fails ${ns.engine}`;
		failFirst.add(flaky);
		await transport.sendMail({ from: 'a@customer.example', to: 'support@inbox.example.test', subject: flaky, text: 'x' });
		await transport.sendMail({ from: 'b@customer.example', to: 'support@inbox.example.test', subject: doomed, text: 'x' });
		const errorsBefore = handle.failedExecutions.length;
		for (let i = 0; i < 100 && handle.failedExecutions.length === errorsBefore; i++) await new Promise((r) => setTimeout(r, 100));
		const subjects = handle.executions.map((e) => `${(e.emitted[0][0].json.email as IDataObject).subject}:${e.error ? 'failed' : 'ok'}`);
		expect(subjects.filter((s) => s.startsWith(flaky))).toEqual([`${flaky}:failed`, `${flaky}:ok`]);
		expect(subjects.filter((s) => s.startsWith(doomed))).toEqual([`${doomed}:failed`, `${doomed}:failed`]);
		expect(handle.failedExecutions[errorsBefore].message).toMatch(/failed in 2 executions and is no longer retried: .*always fails/);
		const failed = await ns.store.spoolList({ inboxId, status: 'failed' });
		expect(failed).toHaveLength(1);
		expect((await spooledRaw(ns.store, failed[0].id)).toString()).toContain(`Subject: ${doomed}`);
	});

	it('beats in the store (health: running), notes a message given up as its last error; re-driven from the CLI, the message comes out again; stopped after deactivation', async () => {
		const { handle, transport, ns, inboxId } = await start({ options: { retryDelaySeconds: 1, maxAttempts: 1 } });
		const health = async () => {
			const listed = await runCli(['store', 'health', '--store', ns.cliStore, '--json']);
			expect(listed).toMatchObject({ code: 0, stderr: '' });
			return (JSON.parse(listed.stdout) as Array<{ inbox: { id: string } } & IDataObject>).find((h) => h.inbox.id === inboxId);
		};
		// The inbox is the whole file's: messages given up by earlier tests stay failed.
		const before = (await health())!;
		expect(before).toMatchObject({ trigger: { status: 'running', via: 'smtp', stoppedAt: null } });

		const subject = `given up, then re-driven ${ns.engine}`;
		failFirst.add(subject);
		const errorsBefore = handle.failedExecutions.length;
		await transport.sendMail({ from: 'c@customer.example', to: 'support@inbox.example.test', subject, text: 'x' });
		for (let i = 0; i < 100 && handle.failedExecutions.length === errorsBefore; i++) await new Promise((r) => setTimeout(r, 100));
		expect(handle.failedExecutions[errorsBefore].message).toMatch(/failed in 1 executions and is no longer retried/);
		const listed = await runCli(['store', 'spool', 'list', '--status', 'failed', '--store', ns.cliStore, '--json']);
		const [failed] = (JSON.parse(listed.stdout) as Array<{ id: string; inboxId: string; subject: string }>).filter((e) => e.inboxId === inboxId);
		expect(failed).toMatchObject({ subject, attempts: 1, lastError: expect.stringContaining(`first attempt of "${subject}" fails`) });
		const noted = async () => String(((await health())?.lastError as IDataObject | null)?.message).includes(failed.id);
		for (let i = 0; i < 50 && !(await noted()); i++) await new Promise((r) => setTimeout(r, 100));
		expect(await health()).toMatchObject({
			trigger: { status: 'running' },
			failed: Number(before.failed) + 1,
			lastError: { message: expect.stringContaining(`spool entry ${failed.id}) failed in 1 executions`) },
		});

		const executionsBefore = handle.executions.length;
		expect(await runCli(['store', 'spool', 'redrive', failed.id, '--store', ns.cliStore])).toMatchObject({ code: 0, stderr: '' });
		const redrivenAt = Date.now();
		const executions = await handle.waitForExecutions(executionsBefore + 1, 10_000);
		expect(Date.now() - redrivenAt).toBeLessThan(5_000 + 1_000);
		const again = executions[executionsBefore];
		expect(again.error).toBeUndefined();
		expect(again.emitted[0][0].json).toMatchObject({ email: { subject } });
		for (let i = 0; i < 50 && (await ns.store.spoolGet(failed.id))?.status !== 'done'; i++) await new Promise((r) => setTimeout(r, 100));
		expect(await ns.store.spoolGet(failed.id)).toMatchObject({ status: 'done', lastError: null });
		expect(await health()).toMatchObject({ failed: before.failed, backlog: { count: 0 } });

		await handle.stop();
		expect(await health()).toMatchObject({ trigger: { status: 'stopped', stoppedAt: expect.any(String) } });
	});

	it('re-emits messages left in the spool by an earlier run when it is activated', async () => {
		const ns = get();
		const inbox = await ns.store.registerInbox({ address: 'support@inbox.example.test' });
		const raw = Buffer.from('From: left@customer.example\r\nTo: support@inbox.example.test\r\nSubject: left over\r\nMessage-ID: <left-1@customer.example>\r\n\r\nstill here\r\n');
		const entry = await ns.store.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope: { clientIp: '192.0.2.7', helo: 'mx.customer.example', mailFrom: 'left@customer.example', rcpt: ['support@inbox.example.test'] } });
		const { handle } = await start();
		const executions = await handle.waitForExecutions(1, 20_000);
		expect(executions[0].emitted[0][0].json).toMatchObject({ email: { subject: 'left over' }, envelope: { clientIp: '192.0.2.7' } });
		for (let i = 0; i < 50 && (await ns.store.spoolList({ inboxId: inbox.id, status: 'pending' })).some((e) => e.id === entry.id); i++) {
			await new Promise((r) => setTimeout(r, 100));
		}
		expect((await ns.store.spoolList({ inboxId: inbox.id, status: 'done' })).map((e) => e.id)).toContain(entry.id);
	});

	it('hands a large attachment and the raw message to n8n as streams read from the spool: filesystem binary data, byte for byte', async () => {
		await useFilesystemBinaryData();
		const { handle, transport } = await start({ options: { includeRaw: true } });
		const file = randomBytes(3 * 1024 * 1024);
		const info = await transport.sendMail({ from: 'jane@customer.example', to: 'support@inbox.example.test', subject: 'a large file', text: 'attached', attachments: [{ filename: 'scan.pdf', content: file }] });
		expect(info.response).toMatch(/^250 /);
		const [execution] = await handle.waitForExecutions(1, 20_000);
		const [item] = execution.emitted[0];
		expect(item.json).toMatchObject({ email: { attachments: [{ filename: 'scan.pdf', size: file.length, binaryKey: 'attachment_0' }] } });
		expect(item.binary?.attachment_0.id).toMatch(/^filesystem/);
		expect((await storedBinaryData(item.binary!.attachment_0)).equals(file)).toBe(true);
		const raw = await storedBinaryData(item.binary!.raw);
		expect(raw.length).toBe((item.json as { size: number }).size);
		expect(raw.toString('latin1')).toContain('Subject: a large file');
	});

	it('makes a second trigger claiming the same forwarding address an activation error', async () => {
		const { port, ns } = await start();
		await expect(startTrigger(workflow(ns, port), { nodeTypes: NODE_TYPES, credentials: ns.credentials })).rejects.toThrow(
			/support@inbox\.example\.test is already used by another active Hosted Inbox Trigger/,
		);
	});
});
