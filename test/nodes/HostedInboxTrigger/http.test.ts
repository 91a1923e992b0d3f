import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeOperationError, type ICredentialTestFunctions, type IDataObject, type INodeParameters } from 'n8n-workflow';

import { intakeItemSchema } from '../../../core/item';
import { HostedInboxTrigger } from '../../../nodes/HostedInboxTrigger/HostedInboxTrigger.node';
import { testHttpDoorCredential } from '../../../nodes/HostedInboxTrigger/http/credential-test';
import { codeNode, packageNodeTypes, PACKAGE, startTrigger, type TriggerHandle, type WorkflowJson } from '../../support/n8n-engine';
import { describeEachNodeStore, type NodeStore } from '../../support/nodeStores';
import { PIPELINE_NODE_TYPES } from '../../support/pipeline';

const ADDRESS = 'support@inbox.example.test';
const TOKEN = 'a-long-random-token-for-the-http-door-tests';
const emptyZone = join(mkdtempSync(join(tmpdir(), 'hi-http-zones-')), 'empty.json');
writeFileSync(emptyZone, '{}');

/** Subjects whose first run dies before Resolve Original Sender records them (as n8n crashing mid-run would). */
const failFirst = new Set<string>();
const seen = new Map<string, number>();
const Downstream = codeNode(function (items) {
	for (const item of items) {
		const subject = String((item.json.email as IDataObject)?.subject ?? '');
		seen.set(subject, (seen.get(subject) ?? 0) + 1);
		if (failFirst.has(subject) && seen.get(subject) === 1) throw new NodeOperationError(this.getNode(), `the first run of "${subject}" dies`);
	}
	return items;
});
const NODE_TYPES = { ...packageNodeTypes(HostedInboxTrigger), ...PIPELINE_NODE_TYPES, 'test.downstream': Downstream };

function workflow(ns: NodeStore, params: INodeParameters = {}): WorkflowJson {
	const credentials = { ...ns.nodeCredentials, hostedInboxHttpApi: { id: 'http-door', name: 'HTTP door' } };
	const to = (node: string) => [{ node, type: 'main' as const, index: 0 }];
	const ours = (name: string, type: string) => ({ name, type: `${PACKAGE}.${type}`, parameters: { ...ns.params }, credentials });
	return {
		nodes: [
			{
				name: 'Hosted Inbox Trigger',
				type: `${PACKAGE}.hostedInboxTrigger`,
				webhookId: 'a2b9d0c4-6f57-4a53-9d0e-3f1c2b7e8a10',
				parameters: { ...ns.params, receiveVia: 'http', httpAddress: ADDRESS, httpPath: 'mail', ...params },
				credentials,
			},
			{ name: 'Downstream', type: 'test.downstream', parameters: {} },
			ours('Resolve Original Sender', 'resolveOriginalSender'),
			ours('Route Conversation', 'routeConversation'),
			ours('Create Ticket', 'createTicket'),
		],
		connections: {
			'Hosted Inbox Trigger': { main: [to('Downstream'), [], []] },
			Downstream: { main: [to('Resolve Original Sender')] },
			'Resolve Original Sender': { main: [to('Route Conversation')] },
			'Route Conversation': { main: [to('Create Ticket'), to('Create Ticket')] },
		},
	};
}

function message(subject: string, messageId: string): string {
	return [
		'From: Jane Customer <jane@customer.example>',
		`To: ${ADDRESS}`,
		`Subject: ${subject}`,
		`Message-ID: <${messageId}>`,
		'Date: Tue, 03 Mar 2026 09:00:00 +0000',
		'Content-Type: text/plain; charset=UTF-8',
		'',
		'Please help, the printer is on fire.',
		'',
	].join('\r\n');
}

/** A Gmail forwarding confirmation, as Google sends it (the empty test zone gives google.com no DMARC record: accepted). */
function confirmation(code: string): string {
	return [
		'From: Gmail Team <forwarding-noreply@google.com>',
		`To: ${ADDRESS}`,
		`Subject: (#${code}) Gmail Forwarding Confirmation - Receive Mail from owner@customer.example`,
		`Message-ID: <confirm-${code}@google.com>`,
		'Date: Tue, 03 Mar 2026 09:00:00 +0000',
		'Content-Type: text/plain; charset=UTF-8',
		'',
		'owner@customer.example has requested to automatically forward mail to your email address.',
		`Confirmation code: ${code}`,
		`https://mail-settings.google.com/mail/vf-${code}`,
		'',
	].join('\r\n');
}
const fromGoogle = { authorization: `Bearer ${TOKEN}`, 'x-envelope-from': 'forwarding-noreply@google.com' };

async function post(url: string, raw: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'message/rfc822', 'x-envelope-from': 'jane@customer.example', 'x-envelope-to': ADDRESS, ...headers },
		body: raw,
	});
	return { status: response.status, body: (await response.json()) as { status: string; reply: string; id?: string } };
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

describeEachNodeStore('Hosted Inbox Trigger, HTTP mode, in n8n', (get) => {
	let handle: TriggerHandle | undefined;
	const previousZone = process.env.HOSTED_INBOX_DNS_ZONE;

	beforeAll(() => {
		process.env.HOSTED_INBOX_DNS_ZONE = emptyZone;
	});
	afterAll(() => {
		process.env.HOSTED_INBOX_DNS_ZONE = previousZone;
	});
	afterEach(async () => {
		await handle?.stop();
		handle = undefined;
	});

	async function start(params: INodeParameters = {}, webhookMode?: 'manual') {
		const ns = get();
		handle = await startTrigger(workflow(ns, params), { nodeTypes: NODE_TYPES, credentials: { ...ns.credentials, hostedInboxHttpApi: { token: TOKEN } }, webhookMode });
		const inbox = await ns.store.getInbox(ADDRESS);
		return { ns, handle, url: handle.webhookUrl()!, inboxId: inbox!.id };
	}

	const messagesOf = async (ns: NodeStore, inboxId: string, messageId: string) => {
		const conversations = await ns.store.listConversations({ inboxId });
		const all = (await Promise.all(conversations.map((c) => ns.store.listMessages(c.id)))).flat();
		return all.filter((m) => m.messageId === messageId);
	};

	it('registers its webhook only in HTTP mode, at /webhook/<path>', async () => {
		const { url } = await start();
		expect(url).toMatch(/\/webhook\/mail$/);
		await handle!.stop();
		handle = await startTrigger({ ...workflow(get(), { receiveVia: 'smtp', forwardingDomain: 'inbox.example.test', smtpHost: '127.0.0.1', smtpPort: 0 }) }, { nodeTypes: NODE_TYPES, credentials: get().credentials });
		expect(handle.webhookUrl()).toBeUndefined();
	});

	it('answers 200 once the post is spooled, runs the workflow with the item, and the spool entry is done when Resolve Original Sender records it', async () => {
		const { ns, url } = await start();
		const subject = `Printer on fire ${ns.engine}`;
		const { status, body } = await post(url, message(subject, `printer-${ns.engine}@customer.example`));
		expect(status).toBe(200);
		expect(body).toMatchObject({ status: 'accepted', reply: expect.stringMatching(/^250 2\.0\.0 Queued as /) });
		const [execution] = await handle!.waitForExecutions(1, 20_000);
		expect(execution.error).toBeUndefined();
		const [item] = execution.emitted[0];
		expect(intakeItemSchema.safeParse(item.json).success).toBe(true);
		expect(item.json).toMatchObject({ via: 'http', kind: 'message', spool: { id: body.id }, envelope: { mailFrom: 'jane@customer.example', rcpt: [ADDRESS] }, email: { subject } });
		expect(execution.json('Create Ticket')[0]).toMatchObject({ contact: { email: 'jane@customer.example' }, ticket: { name: subject } });
		expect((await ns.store.spoolGet(body.id!))?.status).toBe('done');
	});

	it("remembers DNS answers from one post to the next for a minute, as the SMTP door does across messages (n8n runs the webhook once a post)", async () => {
		// A zone file of this test's own: the remembered answers are the process's, one set for each zone file.
		const zone = join(mkdtempSync(join(tmpdir(), 'hi-http-zones-')), 'dmarc.json');
		writeFileSync(zone, JSON.stringify({ '_dmarc.customer.example': { TXT: [['v=DMARC1; p=none']] } }));
		process.env.HOSTED_INBOX_DNS_ZONE = zone;
		try {
			const { ns, url } = await start();
			const first = await post(url, message(`DMARC first ${ns.engine}`, `dmarc-1-${ns.engine}@customer.example`));
			// The record is gone from DNS; within the minute the door still decides on the answer it had.
			writeFileSync(zone, '{}');
			const second = await post(url, message(`DMARC second ${ns.engine}`, `dmarc-2-${ns.engine}@customer.example`));
			expect([first.status, second.status]).toEqual([200, 200]);
			const runs = await handle!.waitForExecutions(2, 20_000);
			const dmarc = runs.map((run) => (run.emitted[0][0].json.auth as IDataObject).dmarc);
			expect(dmarc).toEqual([expect.objectContaining({ result: 'fail', policy: 'none' }), expect.objectContaining({ result: 'fail', policy: 'none' })]);
		} finally {
			process.env.HOSTED_INBOX_DNS_ZONE = emptyZone;
		}
	});

	it('refuses a post without the token (401): nothing spooled, no run', async () => {
		const { ns, url, inboxId } = await start();
		const before = (await ns.store.spoolList({ inboxId })).length;
		const { status, body } = await post(url, message('Not signed', 'unsigned@customer.example'), { authorization: 'Bearer wrong-token' });
		expect(status).toBe(401);
		expect(body.status).toBe('unauthorized');
		expect((await post(url, message('Not signed', 'unsigned@customer.example'), {})).status).toBe(401);
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(handle!.executions).toHaveLength(0);
		expect(await ns.store.spoolList({ inboxId })).toHaveLength(before);
	});

	it('leaves an entry whose run died pending; the trigger emits it again after its due time, and it is recorded exactly once', async () => {
		const { ns, url, inboxId } = await start({ httpSettings: { redriveAfterSeconds: 2 }, options: { binaryData: true, retryDelaySeconds: 1 } });
		const subject = `Dies once ${ns.engine}`;
		const messageId = `dies-${ns.engine}@customer.example`;
		failFirst.add(subject);
		const { status, body } = await post(url, message(subject, messageId));
		expect(status).toBe(200);
		const [died] = await handle!.waitForExecutions(1, 20_000);
		expect(died.status).toBe('error');
		expect((await ns.store.spoolGet(body.id!))?.status).toBe('pending');
		const [, again] = await handle!.waitForExecutions(2, 20_000);
		expect(again.error).toBeUndefined();
		// Emitted again by the trigger, which watches this run: its entry is done once the run succeeded, not by Resolve.
		expect(again.emitted[0][0].json).toMatchObject({ via: 'http', spool: null });
		await eventually(async () => (await ns.store.spoolGet(body.id!))?.status === 'done', 'the entry to be done');
		expect(await messagesOf(ns, inboxId, messageId)).toHaveLength(1);
		// Done: not emitted a third time.
		await new Promise((resolve) => setTimeout(resolve, 3000));
		expect(handle!.executions).toHaveLength(2);
	});

	it('does not emit again an entry its own run recorded, past its due time', async () => {
		const { ns, url } = await start({ httpSettings: { redriveAfterSeconds: 1 }, options: { binaryData: true, retryDelaySeconds: 1 } });
		const { status, body } = await post(url, message(`Once ${ns.engine}`, `once-${ns.engine}@customer.example`));
		expect(status).toBe(200);
		await handle!.waitForExecutions(1, 20_000);
		expect((await ns.store.spoolGet(body.id!))?.status).toBe('done');
		await new Promise((resolve) => setTimeout(resolve, 3000));
		expect(handle!.executions).toHaveLength(1);
	});

	it('emits a forwarding confirmation posted over HTTP once, from the trigger, which marks it done once its run succeeded', async () => {
		const { ns, url } = await start({ httpSettings: { redriveAfterSeconds: 1 }, options: { binaryData: true, retryDelaySeconds: 1 } });
		const code = ns.engine === 'sqlite' ? '1234501' : '1234502';
		const { status, body } = await post(url, confirmation(code), fromGoogle);
		expect(status).toBe(200);
		const [run] = await handle!.waitForExecutions(1, 20_000);
		// No step records it (Resolve Original Sender refuses it): the trigger that saw its run succeed completes it.
		expect(run.emitted[1][0].json).toMatchObject({ kind: 'forwarding-confirmation', via: 'http', spool: null, verification: { code } });
		await eventually(async () => (await ns.store.spoolGet(body.id!))?.status === 'done', 'the entry to be done');
		// Past its due time and a few sweeps: not emitted again.
		await new Promise((resolve) => setTimeout(resolve, 3000));
		expect(handle!.executions).toHaveLength(1);
	});

	it("carries a forwarding confirmation posted to the test URL in that test run, done once emitted (the active workflow's trigger leaves it)", async () => {
		const { ns, url } = await start({ httpSettings: { redriveAfterSeconds: 1 }, options: { binaryData: true, retryDelaySeconds: 1 } }, 'manual');
		const code = ns.engine === 'sqlite' ? '1234503' : '1234504';
		const { status, body } = await post(url, confirmation(code), fromGoogle);
		expect(status).toBe(200);
		const [run] = await handle!.waitForExecutions(1, 20_000);
		expect(run.emitted[1][0].json).toMatchObject({ kind: 'forwarding-confirmation', via: 'http', spool: { id: body.id }, verification: { code } });
		expect((await ns.store.spoolGet(body.id!))?.status).toBe('done');
		await new Promise((resolve) => setTimeout(resolve, 3000));
		expect(handle!.executions).toHaveLength(1);
	});

	it('answers 503 and keeps nothing when n8n read the body first (options without binaryData)', async () => {
		const { ns, url, inboxId } = await start({ options: { emitRejected: false } });
		const before = (await ns.store.spoolList({ inboxId })).length;
		const { status, body } = await post(url, message('Read by n8n', 'read@customer.example'));
		expect(status).toBe(503);
		expect(body.status).toBe('try-again');
		expect(await ns.store.spoolList({ inboxId })).toHaveLength(before);
		expect(handle!.executions).toHaveLength(0);
	});
});

describe('the Hosted Inbox HTTP Door credential test', () => {
	const check = (data: Record<string, string>) => testHttpDoorCredential.call({} as ICredentialTestFunctions, { id: 'c', name: 'c', type: 'hostedInboxHttpApi', data });
	it('wants a secret, none of them guessable', async () => {
		expect(await check({})).toMatchObject({ status: 'Error', message: expect.stringMatching(/^Set a token, an HMAC secret or a Mailgun signing key/) });
		expect(await check({ token: 'short' })).toMatchObject({ status: 'Error', message: expect.stringMatching(/^The token is too short/) });
		expect(await check({ token: TOKEN, hmacSecret: 'x' })).toMatchObject({ status: 'Error', message: expect.stringMatching(/^The HMAC secret is too short/) });
		expect(await check({ token: TOKEN })).toMatchObject({ status: 'OK' });
		expect(await check({ mailgunSigningSecret: 'key-1234' })).toMatchObject({ status: 'OK' });
	});
});
