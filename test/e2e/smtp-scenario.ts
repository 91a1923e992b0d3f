/**
 * The forwarding setup end to end in a real n8n: the SMTP template imported with n8n's CLI and activated,
 * agents and a team seeded with `hosted-inbox store seed`, mail sent to the hosted address with nodemailer,
 * and the result read back from n8n's executions, the store CLI and the team notifications n8n sent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createTransport, type SendMailOptions } from 'nodemailer';

import { freePort, waitForPort } from '../support/ports';
import { N8n, storeCli, storeList } from '../support/real-n8n';
import { createDatabase, notifySmtpCredential, postgresCredential, startMailSink, templateCopy } from '../support/real-n8n-setup';
import { tarball } from './support';

const HOSTED_ADDRESS = 'support@inbox.example.test';
const TEMPLATE = 'hosted-inbox-smtp.json';

export interface ScenarioOptions {
	version: string;
	mode: 'regular' | 'queue';
	store: 'embedded' | 'postgres';
}

interface Agent {
	id: string;
	email: string;
}
interface Contact {
	id: string;
	email: string;
}
interface Conversation {
	id: string;
	contactId: string;
	assigneeId: string | null;
	subject: string;
}
interface Ticket {
	id: string;
	conversationId: string;
	name: string;
	stage: string;
}

/** Mail as a customer's server would send it to the hosted address. */
async function send(port: number, message: SendMailOptions): Promise<void> {
	const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'mx.example.com' });
	try {
		await transport.sendMail({ envelope: { from: message.from as string, to: HOSTED_ADDRESS }, to: HOSTED_ADDRESS, ...message });
	} finally {
		transport.close();
	}
}

/** Declares the scenario's tests; the returned function gives the running n8n (for mode-specific checks). */
export function smtpScenario(options: ScenarioOptions): () => N8n {
	let n8n: N8n;
	let workflowId: string;
	let smtpPort: number;
	let store: string;
	let sink: Awaited<ReturnType<typeof startMailSink>>;
	let storeDatabase: Awaited<ReturnType<typeof createDatabase>> | null = null;
	const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-inbox-e2e-'));

	beforeAll(async () => {
		sink = await startMailSink();
		smtpPort = await freePort();
		const credentials = [notifySmtpCredential(sink.port)];
		let template: string;
		if (options.store === 'postgres') {
			storeDatabase = await createDatabase('hosted_inbox_store');
			const credential = postgresCredential(storeDatabase.name);
			credentials.push(credential);
			template = templateCopy(TEMPLATE, { smtpPort, store: { postgresCredential: { id: credential.id, name: credential.name } } });
			store = storeDatabase.url;
		} else {
			template = templateCopy(TEMPLATE, { smtpPort });
		}
		// Offline DNS: no record at all, so SPF/DKIM/DMARC give "none" and nothing waits on the network.
		const zone = path.join(scratch, 'empty-zone.json');
		fs.writeFileSync(zone, '{}');
		n8n = await N8n.start({
			version: options.version,
			mode: options.mode,
			tarball: tarball(),
			credentials,
			workflows: [template],
			env: { HOSTED_INBOX_DNS_ZONE: zone },
			beforeStart: async (instance) => {
				if (options.store === 'embedded') store = instance.embeddedStorePath;
				await storeCli(instance.install, store, ['seed', path.join(__dirname, 'fixtures', 'seed.json')]);
			},
		});
		[workflowId] = n8n.workflowIds;
		process.stderr.write(`e2e: n8n ${options.version} (${options.mode}, ${options.store} store) started: ${JSON.stringify(n8n.timings)}\n`);
	});

	afterAll(async () => {
		await n8n?.stop();
		await sink?.close();
		await storeDatabase?.drop();
		fs.rmSync(scratch, { recursive: true, force: true });
	});

	it('activates the SMTP template, and its listener takes mail for the hosted address only', async () => {
		await n8n.activate(workflowId);
		await waitForPort(smtpPort);
		await expect(
			send(smtpPort, { from: 'someone@example.com', envelope: { from: 'someone@example.com', to: 'nobody@elsewhere.test' }, subject: 'relay?', text: 'x' }),
		).rejects.toThrow(/550/);
	});

	it('turns forwarded mail into contacts, assigned conversations, tickets and notifications', async () => {
		// One at a time, as mail trickles in: each run finishes before the next message, so the round robin is exact.
		const messages: SendMailOptions[] = [
			{
				from: 'Jane Customer <jane@example.com>',
				subject: 'Order #1042 arrived damaged',
				messageId: '<order-1042@example.com>',
				text: 'Hello, the parcel for order #1042 arrived with a broken lid. Can you send a replacement?',
			},
			{
				from: 'Bob Buyer <bob@example.org>',
				subject: 'Question about invoice 77',
				messageId: '<invoice-77@example.org>',
				text: 'Hi, invoice 77 lists two shipping fees. Is that right?',
			},
			{
				from: 'Jane Customer <jane@example.com>',
				subject: 'Re: Order #1042 arrived damaged',
				messageId: '<order-1042-reply@example.com>',
				inReplyTo: '<order-1042@example.com>',
				references: ['<order-1042@example.com>'],
				text: 'Photos attached in my next mail. Thanks!',
			},
		];
		for (const [i, message] of messages.entries()) {
			await send(smtpPort, message);
			await n8n.waitForExecutions(workflowId, i + 1, 120_000);
		}

		const executions = await n8n.waitForExecutions(workflowId, 3, 120_000);
		expect(executions.map((e) => e.status)).toEqual(['success', 'success', 'success']);

		const agents = await storeList<Agent>(n8n.install, store, 'agents');
		const email = new Map(agents.map((a) => [a.id, a.email]));
		const contacts = await storeList<Contact>(n8n.install, store, 'contacts');
		expect(contacts.map((c) => c.email).sort()).toEqual(['bob@example.org', 'jane@example.com']);

		const conversations = await storeList<Conversation>(n8n.install, store, 'conversations');
		expect(conversations).toHaveLength(2);
		const byContact = new Map(conversations.map((c) => [contacts.find((x) => x.id === c.contactId)!.email, c]));
		// Round robin over the available members of Support: the two conversations go to Ana and Ben, never to Cat (away).
		const assignees = conversations.map((c) => email.get(c.assigneeId ?? '')).sort();
		expect(assignees).toEqual(['ana@company.test', 'ben@company.test']);

		const tickets = await storeList<Ticket>(n8n.install, store, 'tickets');
		expect(tickets.map((t) => t.name).sort()).toEqual(['Order #1042 arrived damaged', 'Question about invoice 77']);
		expect(tickets.find((t) => t.name.startsWith('Order'))!.conversationId).toBe(byContact.get('jane@example.com')!.id);

		// Each run ends with the Send Email node notifying the assignee (the reply too, to Jane's sticky assignee).
		const janeAgent = email.get(byContact.get('jane@example.com')!.assigneeId!)!;
		const notified = sink.messages.map((m) => m.to.join(','));
		expect(notified).toHaveLength(3);
		expect(notified.filter((to) => to === janeAgent)).toHaveLength(2);
	});

	it('absorbs a redelivered message: a successful run, no second conversation or ticket', async () => {
		await send(smtpPort, {
			from: 'Jane Customer <jane@example.com>',
			subject: 'Order #1042 arrived damaged',
			messageId: '<order-1042@example.com>',
			text: 'Hello, the parcel for order #1042 arrived with a broken lid. Can you send a replacement?',
		});
		const executions = await n8n.waitForExecutions(workflowId, 4, 120_000);
		expect(executions[3].status).toBe('success');
		expect(await storeList(n8n.install, store, 'conversations')).toHaveLength(2);
		expect(await storeList(n8n.install, store, 'tickets')).toHaveLength(2);
	});

	it('takes a burst of parallel mail with redeliveries: one conversation and one ticket per message, all assigned', async () => {
		const before = (await n8n.executions(workflowId)).length;
		const customers = Array.from({ length: 20 }, (_, i) => i + 1);
		const message = (i: number): SendMailOptions => ({
			from: `Customer ${i} <customer${i}@example.net>`,
			subject: `Delivery question ${i}`,
			messageId: `<delivery-${i}@example.net>`,
			text: `Where is parcel ${i}?`,
		});
		// Five connections at a time; the first five messages are delivered twice, as an MTA retrying would.
		const queue = [...customers, ...customers.slice(0, 5)];
		await Promise.all(
			Array.from({ length: 5 }, async () => {
				for (let i = queue.shift(); i !== undefined; i = queue.shift()) await send(smtpPort, message(i));
			}),
		);
		const executions = await n8n.waitForExecutions(workflowId, before + 25, 300_000);
		expect(executions.filter((e) => e.status !== 'success')).toEqual([]);

		const agents = new Map((await storeList<Agent>(n8n.install, store, 'agents')).map((a) => [a.id, a.email]));
		const contacts = new Map((await storeList<Contact>(n8n.install, store, 'contacts')).map((c) => [c.id, c.email]));
		const conversations = (await storeList<Conversation>(n8n.install, store, 'conversations')).filter((c) =>
			/^customer\d+@example\.net$/.test(contacts.get(c.contactId) ?? ''),
		);
		expect(conversations).toHaveLength(20);
		expect(new Set(conversations.map((c) => c.contactId)).size).toBe(20);
		expect(new Set(conversations.map((c) => agents.get(c.assigneeId ?? '')))).toEqual(new Set(['ana@company.test', 'ben@company.test']));
		const tickets = await storeList<Ticket>(n8n.install, store, 'tickets');
		for (const conversation of conversations) {
			expect(tickets.filter((t) => t.conversationId === conversation.id)).toHaveLength(1);
		}
	});

	return () => n8n;
}
