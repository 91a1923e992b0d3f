/**
 * The other bundled templates in one real n8n (2.41.1 on Node 24, embedded store): each imported with n8n's CLI,
 * then run the way a user runs it (its trigger once activated, or its Manual Trigger with `n8n execute`),
 * with a successful execution and the effect the template is for. The SMTP template has its own suite.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ImapFlow } from 'imapflow';
import { createTransport } from 'nodemailer';

import { freePort, waitForPort } from '../support/ports';
import { N8N_CURRENT, N8n, sleep, storeCli, storeList, type Execution } from '../support/real-n8n';
import { notifySmtpCredential, startMailSink, templateCopy, templatePath } from '../support/real-n8n-setup';
import { Dovecot } from '../support/dovecot';
import { tarball } from './support';

const HOSTED_ADDRESS = 'support@inbox.example.test';
/** The reply template's webhook token (its Header Auth credential) and form password. */
const REPLY_TOKEN = 'a-long-random-token-for-the-reply-template';
const TEMPLATES = ['agent-availability.json', 'google-groups.json', 'forwarding-check.json', 'reply.json', 'hosted-inbox-imap.json', 'hosted-inbox-health.json'];

const CHECKED_INBOX = 'support@inbox.example.com';

/** The reply template's form is served at /form/<its webhook id> (no path of its own). */
const REPLY_FORM_ID: string = JSON.parse(fs.readFileSync(templatePath('reply.json'), 'utf8')).nodes.find((node: { type: string }) => node.type === 'n8n-nodes-base.formTrigger').webhookId;

/**
 * `n8n execute` starts at the first trigger in the file; a copy with the Manual Trigger listed first (the same
 * workflow: node order carries no meaning) runs the template from it, as "Execute workflow" in the editor does.
 */
function manualTriggerFirst(name: string): string {
	const workflow = JSON.parse(fs.readFileSync(templatePath(name), 'utf8'));
	const manual = (n: { type: string }) => (n.type === 'n8n-nodes-base.manualTrigger' ? 0 : 1);
	workflow.nodes.sort((a: { type: string }, b: { type: string }) => manual(a) - manual(b));
	const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-inbox-template-')), name);
	fs.writeFileSync(file, JSON.stringify(workflow));
	return file;
}

interface Agent {
	id: string;
	email: string;
	fullName: string;
	availability: string;
}
interface Contact {
	id: string;
	email: string;
}
interface Conversation {
	id: string;
	contactId: string;
}

describe(`n8n ${N8N_CURRENT}, embedded store: every other template runs with a successful execution`, () => {
	let n8n: N8n;
	let store: string;
	let sink: Awaited<ReturnType<typeof startMailSink>>;
	let googleGroupsPort: number;
	let dovecot: Dovecot;
	const ids = new Map<string, string>();
	const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-inbox-e2e-templates-'));

	/** Waits for the workflow's first finished execution and returns it with its data. */
	async function onlyExecution(template: string): Promise<Execution> {
		const [execution] = await n8n.waitForExecutions(ids.get(template)!, 1, 120_000);
		return await n8n.execution(execution.id);
	}

	/** Runs a template from its Manual Trigger, judged by its stored execution (N8n.runManually). */
	const runManually = (template: string): Promise<Execution> => n8n.runManually(ids.get(template)!);

	beforeAll(async () => {
		sink = await startMailSink();
		dovecot = await Dovecot.start();
		googleGroupsPort = await freePort();
		const seed = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'seed.json'), 'utf8'));
		// Dana's hours cover every minute of the week, Eve has none: the sync must make Dana available and Eve away.
		const always = { start: '00:00', end: '24:00' };
		seed.agents.push(
			{ email: 'dana@company.test', firstName: 'Dana', fullName: 'Dana Diaz', availability: 'away', workingHours: { timeZone: 'UTC', days: Object.fromEntries(['0', '1', '2', '3', '4', '5', '6'].map((d) => [d, always])) } },
			{ email: 'eve@company.test', firstName: 'Eve', fullName: 'Eve Evans', availability: 'available', workingHours: { timeZone: 'UTC', days: {} } },
		);
		const seedFile = path.join(scratch, 'seed.json');
		fs.writeFileSync(seedFile, JSON.stringify(seed));
		const zone = path.join(scratch, 'empty-zone.json');
		fs.writeFileSync(zone, '{}');

		// The forwarding check's inbox, as its Hosted Inbox Trigger would have registered it.
		const checkedInbox = path.join(scratch, 'checked-inbox.json');
		fs.writeFileSync(checkedInbox, JSON.stringify({ inbox: CHECKED_INBOX }));

		const files = TEMPLATES.map((name) => {
			if (name === 'google-groups.json') return templateCopy(name, { smtpPort: googleGroupsPort });
			if (name === 'forwarding-check.json' || name === 'agent-availability.json' || name === 'hosted-inbox-health.json') return manualTriggerFirst(name);
			return templatePath(name);
		});
		n8n = await N8n.start({
			version: N8N_CURRENT,
			tarball: tarball(),
			credentials: [
				notifySmtpCredential(sink.port),
				{ ...notifySmtpCredential(sink.port), id: 'hostedInboxReplySmtp', name: 'Team email (SMTP)' },
				{ id: 'hostedInboxReplyToken', name: 'Reply webhook token', type: 'httpHeaderAuth', data: { name: 'Authorization', value: `Bearer ${REPLY_TOKEN}` } },
				{ id: 'hostedInboxReplyForm', name: 'Reply form login', type: 'httpBasicAuth', data: { user: 'agents', password: REPLY_TOKEN } },
				{ id: 'hosted-inbox-imap', name: 'Support mailbox (IMAP)', type: 'imap', data: dovecot.credentials },
			],
			workflows: files,
			env: { HOSTED_INBOX_DNS_ZONE: zone },
			beforeStart: async (instance) => {
				store = instance.embeddedStorePath;
				await storeCli(instance.install, store, ['seed', seedFile]);
				await storeCli(instance.install, store, ['seed', checkedInbox]);
			},
		});
		TEMPLATES.forEach((name, i) => ids.set(name, n8n.workflowIds[i]));
		process.stderr.write(`e2e: n8n ${N8N_CURRENT} (templates, embedded store) started: ${JSON.stringify(n8n.timings)}\n`);
	});

	afterAll(async () => {
		await n8n?.stop();
		await sink?.close();
		await dovecot?.destroy();
		fs.rmSync(scratch, { recursive: true, force: true });
	});

	it('agent-availability.json: its Manual Trigger sets agents available inside their working hours and away outside', async () => {
		const execution = await runManually('agent-availability.json');
		expect(execution.status).toBe('success');
		expect(Object.keys(execution.data!.resultData.runData)).toContain('Run Now');
		const agents = new Map((await storeList<Agent>(n8n.install, store, 'agents')).map((a) => [a.email, a.availability]));
		expect(agents.get('dana@company.test')).toBe('available');
		expect(agents.get('eve@company.test')).toBe('away');
		// Agents without working hours keep what they were set to.
		expect(agents.get('cat@company.test')).toBe('away');
		expect(agents.get('ana@company.test')).toBe('available');
	});

	it('google-groups.json: activated on its own port, a Google Group rewrite becomes a conversation with the poster', async () => {
		await n8n.activate(ids.get('google-groups.json')!);
		await waitForPort(googleGroupsPort);
		const transport = createTransport({ host: '127.0.0.1', port: googleGroupsPort, secure: false, ignoreTLS: true, name: 'mail-sor-f41.google.com' });
		try {
			await transport.sendMail({
				envelope: { from: 'support+bncBGroups@company.test', to: HOSTED_ADDRESS },
				from: "'Jane Customer' via Support <support@company.test>",
				replyTo: 'Jane Customer <jane@customer.test>',
				to: 'Support <support@company.test>',
				subject: 'Order #1042 arrived damaged',
				messageId: '<order-1042.jane@customer.test>',
				headers: {
					'X-Original-From': 'Jane Customer <jane@customer.test>',
					'X-Original-Sender': 'jane@customer.test',
					'List-ID': '<support.company.test>',
				},
				text: 'Hello,\n\nthe parcel for order #1042 arrived with a cracked lid. Could you send a replacement?\n\nJane',
			});
		} finally {
			transport.close();
		}
		const execution = await onlyExecution('google-groups.json');
		expect(execution.status).toBe('success');
		const contacts = await storeList<Contact>(n8n.install, store, 'contacts');
		expect(contacts.map((c) => c.email)).toEqual(['jane@customer.test']);
		const conversations = await storeList<Conversation>(n8n.install, store, 'conversations');
		expect(conversations.map((c) => c.contactId)).toEqual([contacts[0].id]);
	});

	it('forwarding-check.json: its Manual Trigger reads the forwarding status with a successful execution', async () => {
		const execution = await runManually('forwarding-check.json');
		expect(execution.status).toBe('success');
		expect(Object.keys(execution.data!.resultData.runData)).toEqual(expect.arrayContaining(['Check Now', 'Get Forwarding Status']));
	});

	it("reply.json: activated, its webhook sends the agent's reply with the team's from-name, to the holder of its token only; its form asks for its login", async () => {
		const [conversation] = await storeList<Conversation>(n8n.install, store, 'conversations');
		expect(conversation).toBeDefined();
		await n8n.activate(ids.get('reply.json')!);
		const before = sink.messages.length;
		const body = JSON.stringify({ conversationId: conversation.id, agent: 'ana@company.test', message: 'A replacement is on its way.' });
		const post = (headers: Record<string, string>) => fetch(`${n8n.url}/webhook/hosted-inbox-reply`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
		// n8n 2.41 registers webhooks after activation returns (its publication outbox): a 404 runs nothing, so ask again.
		let refused: Response;
		for (let attempt = 1; ; attempt++) {
			refused = await post({});
			if (refused.status !== 404 || attempt === 40) break;
			await sleep(250);
		}
		expect([401, 403]).toContain(refused.status);
		expect((await post({ authorization: 'Bearer a-guess' })).status).toBe(refused.status);
		expect(sink.messages.length).toBe(before);
		const response = await post({ authorization: `Bearer ${REPLY_TOKEN}` });
		expect({ status: response.status, body: await response.text() }).toEqual({ status: 200, body: expect.any(String) });
		const execution = await onlyExecution('reply.json');
		expect(execution.status).toBe('success');
		const sent = sink.messages.slice(before);
		expect(sent.map((m) => m.to)).toEqual([['jane@customer.test']]);
		// The agent and company from-name on the hosted address, threaded under Jane's message.
		expect(sent[0].raw).toMatch(/^From: "?Ana Alves at Acme Support"? <support@inbox\.example\.test>/m);
		expect(sent[0].raw).toMatch(/^In-Reply-To: <order-1042\.jane@customer\.test>/m);
		expect(sent[0].raw).toContain('A replacement is on its way.');

		// The form asks for its login (Basic Auth) before it shows anything.
		const form = (authorization?: string) => fetch(`${n8n.url}/form/${REPLY_FORM_ID}`, { headers: authorization ? { authorization } : {} });
		const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
		expect((await form()).status).toBe(401);
		expect((await form(basic('agents', 'a-guess'))).status).toBe(401);
		const shown = await form(basic('agents', REPLY_TOKEN));
		expect({ status: shown.status, body: await shown.text() }).toEqual({ status: 200, body: expect.stringContaining('Reply to a conversation') });
	});

	it('hosted-inbox-imap.json: activated with an IMAP credential, a message appended to the mailbox becomes a conversation', async () => {
		await n8n.activate(ids.get('hosted-inbox-imap.json')!);
		// n8n 2.41 starts triggers after activation returns (its publication outbox); the trigger's first start takes in
		// only mail arriving after it, so append once it is listening.
		const listening = `Hosted inbox ${dovecot.user}: taking mail from`;
		for (let i = 0; i < 240 && !n8n.output().includes(listening); i++) await sleep(250);
		expect(n8n.output()).toContain(listening);
		const client = new ImapFlow({ ...dovecot.credentials, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
		await client.connect();
		try {
			const raw = [
				'From: Kim Client <kim@client.test>',
				`To: ${dovecot.user}`,
				'Subject: Invoice 88 is missing',
				'Message-ID: <invoice-88.kim@client.test>',
				'Date: Wed, 25 Nov 2026 10:00:00 +0000',
				'',
				'Hello, I cannot find invoice 88 in my account.',
				'',
			].join('\r\n');
			await client.append('INBOX', raw);
		} finally {
			await client.logout();
		}
		const execution = await onlyExecution('hosted-inbox-imap.json');
		expect(execution.status).toBe('success');
		const contacts = await storeList<Contact>(n8n.install, store, 'contacts');
		const kim = contacts.find((c) => c.email === 'kim@client.test');
		expect(kim).toBeDefined();
		const conversations = await storeList<Conversation>(n8n.install, store, 'conversations');
		expect(conversations.filter((c) => c.contactId === kim!.id)).toHaveLength(1);
	});

	it('hosted-inbox-health.json: its Manual Trigger reads every inbox\'s health; the active IMAP inbox reads as running', async () => {
		const execution = await runManually('hosted-inbox-health.json');
		expect(execution.status).toBe('success');
		const runData = execution.data!.resultData.runData;
		expect(Object.keys(runData)).toEqual(expect.arrayContaining(['Run Now', 'Get Inbox Health', 'Find Problems']));
		const health = JSON.stringify(runData['Get Inbox Health']);
		expect(health).toContain(dovecot.user);
		expect(health).toMatch(/"status":"running"/);
	});
});
