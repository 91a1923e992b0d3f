/**
 * The HTTP door end to end in a real n8n: the HTTP template imported with n8n's CLI and activated, mail posted to
 * its Production URL as an MTA pipe (raw MIME) and as inbound providers post it, the result read back from n8n's
 * executions and the store CLI. A DKIM-signed message whose DMARC policy is reject proves n8n left the body unread:
 * one byte changed on the way and the signature, then the message, would fail.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { compose, prependHeaders, sign, testWorld } from '../fixtures/mail';
import { CLI, REGISTER_TS, tokenFile } from '../support/deliver';
import { basic, mailgunFields, multipart, postmarkPayload, sendgridFields, sesNotification } from '../support/http-posts';
import { CERT_URL, snsSigner, TOPIC_ARN } from '../support/sns';
import { nodeForPipeUser, Postfix } from '../support/postfix';
import { N8N_CURRENT, N8n, storeCli, storeList, type Execution } from '../support/real-n8n';
import { createDatabase, httpDoorCredential, notifySmtpCredential, postgresCredential, startMailSink, templateCopy, type StoreChoice } from '../support/real-n8n-setup';
import { until } from '../support/until';
import { e2eVersions, storeFor, tarball } from './support';

const TEMPLATE = 'hosted-inbox-http.json';
const HOSTED_ADDRESS = 'support@inbox.example.test';
const TOKEN = randomUUID() + randomUUID();
const MAILGUN_KEY = `key-${randomUUID()}`;
/** The providers posting here, each with a copy of the template set to its format, path and address. */
const PROVIDERS = ['mailgun', 'sendgrid', 'postmark', 'ses'] as const;
type Provider = (typeof PROVIDERS)[number];
const providerAddress = (provider: Provider) => `support-${provider}@inbox.example.test`;
const providerPath = (provider: Provider) => `hosted-inbox/${provider}${provider === 'mailgun' ? '/mime' : ''}`;
/** SNS's signing key and certificate for the SES posts: n8n reads the certificate from HOSTED_INBOX_SNS_CERTIFICATES. */
const SNS = snsSigner();
/** The webhook id the template ships with: with an empty path its URL is /webhook/<id>. */
const WEBHOOK_ID = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'workflows', TEMPLATE), 'utf8')).nodes.find((n: { webhookId?: string }) => n.webhookId).webhookId as string;

interface Contact {
	id: string;
	email: string;
}
interface Conversation {
	id: string;
	contactId: string;
	subject: string;
}
interface Ticket {
	conversationId: string;
	name: string;
}

interface Answer {
	status: number;
	json: { status: string; reply: string; id?: string; reasons?: string[] };
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<Answer> {
	const response = await fetch(url, { method: 'POST', headers, body });
	return { status: response.status, json: (await response.json()) as Answer['json'] };
}

/** What the trigger emitted in a stored execution: its first item on the Message output. */
function emitted(execution: Execution): Record<string, unknown> {
	const [run] = execution.data!.resultData.runData['Hosted Inbox Trigger'] as Array<{ data: { main: Array<Array<{ json: Record<string, unknown> }>> } }>;
	return run.data.main[0][0].json;
}

/** The queue-mode burst: n8n's webhook processes take this many posts at once. */
const BURST = 200;

function burstMessage(i: number): string {
	return [
		`From: Customer ${i} <customer${i}@burst.test>`,
		`To: ${HOSTED_ADDRESS}`,
		`Subject: Parcel question ${i}`,
		`Message-ID: <parcel-${i}@burst.test>`,
		'Date: Thu, 03 Dec 2026 08:00:00 +0000',
		'MIME-Version: 1.0',
		'Content-Type: text/plain; charset=utf-8',
		'',
		`Where is parcel ${i}?`,
		'',
	].join('\r\n');
}


/**
 * The scenario in one n8n: regular mode on the embedded store, or queue mode on a PostgreSQL store they all share:
 * main keeps the trigger (the leader), two `n8n webhook` processes take the posts (main serves no production
 * webhook), a worker runs the executions. The posts alternate between the two webhook processes.
 */
function httpScenario(version: string, mode: 'regular' | 'queue', storeKind: 'embedded' | 'postgres' = mode === 'queue' ? 'postgres' : 'embedded'): () => { n8n: N8n; store: string } {
	let n8n: N8n;
	let workflowId: string;
	let store: string;
	let sink: Awaited<ReturnType<typeof startMailSink>>;
	let storeDatabase: Awaited<ReturnType<typeof createDatabase>> | null = null;
	let url: string;
	const world = testWorld();
	const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-inbox-e2e-http-'));

	beforeAll(async () => {
		sink = await startMailSink();
		const zone = path.join(scratch, 'zone.json');
		fs.writeFileSync(zone, JSON.stringify(world.zone));
		const certificates = path.join(scratch, 'sns-certificates.json');
		fs.writeFileSync(certificates, JSON.stringify({ [CERT_URL]: SNS.certificate }));
		const credentials = [notifySmtpCredential(sink.port), httpDoorCredential({ token: TOKEN, mailgunSigningSecret: MAILGUN_KEY })];
		let storeChoice: StoreChoice | undefined;
		if (storeKind === 'postgres') {
			storeDatabase = await createDatabase('hosted_inbox_store');
			const credential = postgresCredential(storeDatabase.name);
			credentials.push(credential);
			storeChoice = { postgresCredential: { id: credential.id, name: credential.name } };
			store = storeDatabase.url;
		}
		n8n = await N8n.start({
			version,
			mode,
			...(mode === 'queue' ? { webhookProcesses: 2 } : {}),
			tarball: tarball(),
			credentials,
			workflows: [
				templateCopy(TEMPLATE, { store: storeChoice }),
				...PROVIDERS.map((provider) =>
					templateCopy(TEMPLATE, {
						store: storeChoice,
						workflowName: `HTTP door (${provider})`,
						trigger: {
							parameters: { httpFormat: provider, httpPath: providerPath(provider), httpAddress: providerAddress(provider), ...(provider === 'ses' ? { snsTopicArns: TOPIC_ARN } : {}) },
							webhookId: randomUUID(),
						},
					}),
				),
			],
			env: { HOSTED_INBOX_DNS_ZONE: zone, HOSTED_INBOX_SNS_CERTIFICATES: certificates },
			beforeStart: async (instance) => {
				if (storeKind === 'embedded') store = instance.embeddedStorePath;
				await storeCli(instance.install, store, ['seed', path.join(__dirname, 'fixtures', 'seed.json')]);
			},
		});
		[workflowId] = n8n.workflowIds;
		url = `${n8n.webhookUrls[0]}/webhook/${WEBHOOK_ID}`;
		process.stderr.write(`e2e: n8n ${version} (HTTP door, ${mode}) started: ${JSON.stringify(n8n.timings)}\n`);
	});

	afterAll(async () => {
		await n8n?.stop();
		await sink?.close();
		await storeDatabase?.drop();
		fs.rmSync(scratch, { recursive: true, force: true });
	});

	it('activates the HTTP template: its webhook answers at the Production URL', async () => {
		await n8n.activate(workflowId);
		// 2.41 answers the activation before its webhooks are registered (docs/e2e.md): a 404 runs nothing, ask again.
		// Registered, a post without a message gets the door's answer.
		let empty = await post(url, '', { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822' });
		for (const deadline = Date.now() + 60_000; empty.status === 404 && Date.now() < deadline; ) {
			await new Promise((resolve) => setTimeout(resolve, 500));
			empty = await post(url, '', { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822' });
		}
		expect(empty.status).not.toBe(404);
		expect(empty.json.reply).toMatch(/^\d{3} \d\.\d\.\d+ /);
	});

	it('refuses a post without the bearer token (401): nothing stored, no run', async () => {
		const raw = await compose({ from: 'Mallory <mallory@example.com>', to: HOSTED_ADDRESS, subject: 'No token', text: 'x' });
		const before = (await n8n.executions(workflowId)).length;
		const answer = await post(url, raw, { 'content-type': 'message/rfc822', 'x-envelope-from': 'mallory@example.com', 'x-envelope-to': HOSTED_ADDRESS });
		expect(answer.status).toBe(401);
		expect(answer.json.status).toBe('unauthorized');
		expect((await post(url, raw, { authorization: 'Bearer not-the-token', 'content-type': 'message/rfc822' })).status).toBe(401);
		await new Promise((resolve) => setTimeout(resolve, 2000));
		expect(await n8n.executions(workflowId)).toHaveLength(before);
		expect(await storeList(n8n.install, store, 'spool')).toEqual([]);
		expect(await storeList(n8n.install, store, 'conversations')).toEqual([]);
	});

	it('takes a raw message posted with the bearer token byte for byte (its DKIM signature passes): 200, one conversation and one ticket', async () => {
		const raw = await sign(
			await compose({
				from: 'Jane Customer <jane@customer.test>',
				to: HOSTED_ADDRESS,
				subject: 'Order #2001 arrived damaged',
				messageId: '<order-2001@customer.test>',
				// Long lines, trailing spaces, a non-ASCII name: what a body parser would be tempted to touch.
				text: `Hello,   \r\nthe parcel arrived with a broken lid.\t \r\n${'x'.repeat(990)}\r\nGrüße, Jane`,
			}),
			world.customer,
		);
		const answer = await post(url, raw, {
			authorization: `Bearer ${TOKEN}`,
			'content-type': 'message/rfc822',
			'x-envelope-from': 'jane@customer.test',
			'x-envelope-to': HOSTED_ADDRESS,
			'x-client-ip': '198.51.100.7',
			'x-client-helo': 'mx.customer.test',
		});
		expect(answer).toMatchObject({ status: 200, json: { status: 'accepted', reply: expect.stringMatching(/^250 2\.0\.0 Queued as /) } });
		const [execution] = await n8n.waitForExecutions(workflowId, 1, 120_000);
		expect(execution.status).toBe('success');
		const item = emitted(await n8n.execution(execution.id));
		expect(item).toMatchObject({ via: 'http', verdict: { action: 'accept' }, spool: { id: answer.json.id }, envelope: { clientIp: '198.51.100.7', mailFrom: 'jane@customer.test' } });
		expect(item.auth).toMatchObject({ dkim: { result: 'pass' }, dmarc: { result: 'pass' } });

		const contacts = await storeList<Contact>(n8n.install, store, 'contacts');
		expect(contacts.map((c) => c.email)).toEqual(['jane@customer.test']);
		const conversations = await storeList<Conversation>(n8n.install, store, 'conversations');
		expect(conversations).toHaveLength(1);
		const tickets = await storeList<Ticket>(n8n.install, store, 'tickets');
		expect(tickets).toEqual([expect.objectContaining({ conversationId: conversations[0].id, name: 'Order #2001 arrived damaged' })]);
		// Delivered means recorded: Resolve Original Sender marked the spool entry done.
		expect(await storeList(n8n.install, store, 'spool')).toEqual([]);
		const done = JSON.parse(await storeCli(n8n.install, store, ['spool', 'list', '--status', 'done', '--json'])) as Array<{ id: string }>;
		expect(done.map((e) => e.id)).toEqual([answer.json.id]);
	});
	it.each(PROVIDERS)('takes a %s post with its own authentication, byte for byte: 200, a conversation and a ticket', async (provider) => {
		const id = n8n.workflowIds[1 + PROVIDERS.indexOf(provider)];
		await n8n.activate(id);
		const address = providerAddress(provider);
		const subject = `Refund for order ${provider}`;
		// As a provider relays it: its own Received hop on top of the customer's signed message, 8-bit body included.
		const raw = prependHeaders(
			await sign(await compose({ from: 'Jane Customer <jane@customer.test>', to: address, subject, messageId: `<${provider}-1@customer.test>`, text: 'Grüße, déjà vu.\r\n' }), world.customer),
			`Received: from mx.customer.test (mx.customer.test [198.51.100.9]) by mx.${provider}.test with ESMTPS; ${new Date().toUTCString()}`,
		);
		const envelope = { from: 'jane@customer.test', to: address };
		const request =
			provider === 'mailgun'
				? // The token is checked too when the credential has one: Basic, in the route's URL.
					(({ body, headers }) => ({ body, headers: { ...headers, ...basic(TOKEN) } }))(multipart(mailgunFields(raw, { sender: envelope.from, recipient: address }, MAILGUN_KEY)))
				: provider === 'sendgrid'
					? (({ body, headers }) => ({ body, headers: { ...headers, ...basic(TOKEN) } }))(multipart(sendgridFields(raw, { from: envelope.from, to: [address] }, '198.51.100.9')))
					: provider === 'postmark'
						? { body: JSON.stringify(postmarkPayload(raw.toString('utf8'), envelope)), headers: { 'content-type': 'application/json', ...basic(TOKEN) } }
						: // SNS posts its JSON as text/plain; the SES action's content in Base64.
							{
								body: JSON.stringify(SNS.message({ Type: 'Notification', Message: sesNotification(raw, { source: envelope.from, recipients: [address] }) })),
								headers: { 'content-type': 'text/plain; charset=UTF-8', ...basic(TOKEN) },
							};
		const target = `${n8n.webhookUrls[PROVIDERS.indexOf(provider) % n8n.webhookUrls.length]}/webhook/${providerPath(provider)}`;
		let answer = await post(target, request.body, request.headers);
		// 2.41 registers the webhook shortly after the activation answers (docs/e2e.md).
		for (const deadline = Date.now() + 60_000; answer.status === 404 && Date.now() < deadline; ) {
			await new Promise((resolve) => setTimeout(resolve, 500));
			answer = await post(target, request.body, request.headers);
		}
		expect(answer).toMatchObject({ status: 200, json: { status: 'accepted' } });
		const [execution] = await n8n.waitForExecutions(id, 1, 120_000);
		expect(execution.status).toBe('success');
		const item = emitted(await n8n.execution(execution.id));
		expect(item).toMatchObject({ via: 'http', inbox: { address }, verdict: { action: 'accept' }, envelope: { mailFrom: 'jane@customer.test', rcpt: [address] } });
		expect(item.auth).toMatchObject({ dkim: { result: 'pass' }, dmarc: { result: 'pass' } });
		const tickets = await storeList<Ticket>(n8n.install, store, 'tickets');
		expect(tickets.filter((t) => t.name === subject)).toHaveLength(1);
	});

	it('refuses a Mailgun post with a bad signature, a stale timestamp, or a token already taken: nothing kept, no second run', async () => {
		const id = n8n.workflowIds[1 + PROVIDERS.indexOf('mailgun')];
		const address = providerAddress('mailgun');
		const target = `${n8n.webhookUrls[0]}/webhook/${providerPath('mailgun')}`;
		const before = (await n8n.executions(id)).length;
		const raw = await sign(await compose({ from: 'Jane Customer <jane@customer.test>', to: address, subject: 'Signed once', messageId: '<mailgun-replay@customer.test>', text: 'Once.' }), world.customer);
		const envelope = { sender: 'jane@customer.test', recipient: address };
		const posted = async (fields: Array<[string, Buffer | string]>) => {
			const { body, headers } = multipart(fields);
			return await post(target, body, { ...headers, ...basic(TOKEN) });
		};
		expect(await posted(mailgunFields(raw, envelope, 'key-not-the-signing-key'))).toMatchObject({ status: 401, json: { status: 'unauthorized' } });
		expect(await posted(mailgunFields(raw, envelope, MAILGUN_KEY, new Date(Date.now() - 60 * 60_000)))).toMatchObject({ status: 401, json: { status: 'unauthorized' } });
		const signed = multipart(mailgunFields(raw, envelope, MAILGUN_KEY));
		expect(await post(target, signed.body, { ...signed.headers, ...basic(TOKEN) })).toMatchObject({ status: 200, json: { status: 'accepted' } });
		// The same signed post again (captured, or sent twice): its token is taken, so it is not kept again.
		const replay = await post(target, signed.body, { ...signed.headers, ...basic(TOKEN) });
		expect(replay.status).not.toBe(200);
		expect(replay.json.status).not.toBe('accepted');
		const runs = await n8n.waitForExecutions(id, before + 1, 120_000);
		await new Promise((resolve) => setTimeout(resolve, 3000));
		expect(await n8n.executions(id)).toHaveLength(runs.length);
		expect((await storeList<Ticket>(n8n.install, store, 'tickets')).filter((t) => t.name === 'Signed once')).toHaveLength(1);
	});
	return () => ({ n8n, store });
}

describe.each(e2eVersions())('n8n %s, regular mode: the HTTP door template end to end', (version) => {
	httpScenario(version, 'regular', storeFor(version));
});

describe(`n8n ${N8N_CURRENT}, queue mode, two webhook processes and a worker: the HTTP door template end to end`, () => {
	const scenario = httpScenario(N8N_CURRENT, 'queue');
	const n8n = () => scenario().n8n;

	it('ran every execution on the worker, none on main: Resolve Original Sender there marked the entries done', async () => {
		const ids = (await Promise.all(n8n().workflowIds.map((id) => n8n().executions(id)))).flat().map((e) => e.id);
		const onWorker = new Set([...n8n().output('worker').matchAll(/Worker finished execution (\d+)/g)].map((m) => m[1]));
		expect(ids.length).toBe(6);
		expect(ids.filter((id) => !onWorker.has(id))).toEqual([]);
	});

	it(`takes ${BURST} messages posted in parallel across both webhook processes: exactly one conversation and one ticket each`, async () => {
		const [workflowId] = n8n().workflowIds;
		const storeUrl = scenario().store;
		const before = { conversations: (await storeList(n8n().install, storeUrl, 'conversations')).length, executions: (await n8n().executions(workflowId)).length };
		// Main serves no production webhook here: the door is on the webhook processes only.
		expect((await fetch(`${n8n().url}/webhook/${WEBHOOK_ID}`, { method: 'POST', body: '' })).status).toBe(404);
		const answers: number[] = [];
		let next = 0;
		await Promise.all(
			Array.from({ length: 20 }, async () => {
				for (let i = next++; i < BURST; i = next++) {
					const answer = await post(`${n8n().webhookUrls[i % 2]}/webhook/${WEBHOOK_ID}`, burstMessage(i), {
						authorization: `Bearer ${TOKEN}`,
						'content-type': 'message/rfc822',
						'x-envelope-from': `customer${i}@burst.test`,
						'x-envelope-to': HOSTED_ADDRESS,
					});
					answers[i] = answer.status;
				}
			}),
		);
		expect(answers.filter((status) => status !== 200)).toEqual([]);

		const executions = (await n8n().waitForExecutions(workflowId, before.executions + BURST, 900_000)).slice(before.executions);
		expect(executions.filter((e) => e.status !== 'success')).toEqual([]);
		const onWorker = new Set([...n8n().output('worker').matchAll(/Worker finished execution (\d+)/g)].map((m) => m[1]));
		expect(executions.filter((e) => !onWorker.has(e.id))).toEqual([]);

		const contacts = await storeList<Contact>(n8n().install, storeUrl, 'contacts');
		const burstContacts = new Map(contacts.filter((c) => c.email.endsWith('@burst.test')).map((c) => [c.id, c.email]));
		expect(burstContacts.size).toBe(BURST);
		const conversations = (await storeList<Conversation>(n8n().install, storeUrl, 'conversations')).filter((c) => burstContacts.has(c.contactId));
		expect(conversations).toHaveLength(BURST);
		expect(new Set(conversations.map((c) => c.contactId)).size).toBe(BURST);
		const tickets = (await storeList<Ticket>(n8n().install, storeUrl, 'tickets')).filter((t) => t.name.startsWith('Parcel question '));
		expect(tickets).toHaveLength(BURST);
		expect(new Set(tickets.map((t) => t.conversationId))).toEqual(new Set(conversations.map((c) => c.id)));
		// Delivered means recorded: Resolve Original Sender on the worker marked every entry done; none left for the leader.
		expect(await storeList(n8n().install, storeUrl, 'spool')).toEqual([]);
	}, 1_200_000);

	/** Postfix's pipe to hosted-inbox deliver, posting to the second webhook process, as contrib/README.md sets it up. */
	const deliverArgv = () => [
		nodeForPipeUser(), '-r', REGISTER_TS, CLI, 'deliver', '--url', `${n8n().webhookUrls[1]}/webhook/${WEBHOOK_ID}`, '--token-file', tokenFile(TOKEN),
		'--sender', '${sender}', '--recipient', '${recipient}', '--client-ip', '${client_address}', '--helo', '${client_helo}', '--timeout', '60',
	];

	it('takes mail a real Postfix pipes through hosted-inbox deliver; while the store is down Postfix defers it (503 -> 4.x.x), and delivers it once the store is back', async () => {
		const storeUrl = scenario().store;
		const database = new URL(storeUrl).pathname.slice(1);
		const psql = (sql: string) => promisify(execFile)('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', sql]);
		const postfix = await Postfix.start({ domain: HOSTED_ADDRESS.split('@')[1], argv: deliverArgv() });
		try {
			const subject = 'Sent through Postfix while the store was down';
			const message = Buffer.from(
				`From: Pia Postfix <pia@postfix.test>\r\nTo: ${HOSTED_ADDRESS}\r\nSubject: ${subject}\r\nMessage-ID: <store-down@postfix.test>\r\nDate: Thu, 03 Dec 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello from behind an MTA.\r\n`,
			);
			// The store is down: no new connection to its database, the open ones ended.
			await psql(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
			await psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`);
			let queueId: string;
			try {
				queueId = await postfix.swaks({ from: 'pia@postfix.test', to: HOSTED_ADDRESS, helo: 'mx.postfix.test', message });
				await until(`Postfix deferring the message (its log:\n${postfix.log()})`, async () => new RegExp(`${queueId}: to=<${HOSTED_ADDRESS}>, relay=hostedinbox, .*dsn=4\\.\\d\\.\\d, status=deferred`).test(postfix.log()));
				expect(await postfix.queue()).toContain(queueId);
			} finally {
				await psql(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
			}
			await postfix.flush();
			await until(`Postfix delivering the message (its log:\n${postfix.log()})`, async () => new RegExp(`${queueId}: to=<${HOSTED_ADDRESS}>, relay=hostedinbox, .*status=sent`).test(postfix.log()));
			await until('its ticket', async () => (await storeList<Ticket>(n8n().install, storeUrl, 'tickets')).some((t) => t.name === subject));
			const contacts = await storeList<Contact>(n8n().install, storeUrl, 'contacts');
			expect(contacts.filter((c) => c.email === 'pia@postfix.test')).toHaveLength(1);
		} finally {
			await postfix.stop();
		}
	}, 600_000);

	it('bounces mail over the inbox limit that Postfix pipes through hosted-inbox deliver at once (the door\'s 413 reaches it, 5.3.4), nothing stored', async () => {
		// Postfix takes up to 40 MB, the inbox 30 MB: the door answers 413 while deliver still writes, and reads the rest.
		const postfix = await Postfix.start({ domain: HOSTED_ADDRESS.split('@')[1], argv: deliverArgv(), messageSizeLimit: 40 * 1024 * 1024 });
		try {
			const head = `From: Olaf Oversize <olaf@postfix.test>\r\nTo: ${HOSTED_ADDRESS}\r\nSubject: Too big for the inbox\r\nMessage-ID: <too-big@postfix.test>\r\nDate: Thu, 03 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
			const big = Buffer.concat([Buffer.from(head), Buffer.from(`${'x'.repeat(1022)}\r\n`.repeat(31 * 1024))]);
			const queueId = await postfix.swaks({ from: 'olaf@postfix.test', to: HOSTED_ADDRESS, helo: 'mx.postfix.test', message: big });
			await until(`Postfix bouncing the message (its log:\n${postfix.log()})`, async () =>
				new RegExp(`${queueId}: to=<${HOSTED_ADDRESS}>, relay=hostedinbox, .*dsn=5\\.3\\.4, status=bounced`).test(postfix.log()),
			);
			expect(postfix.log()).not.toMatch(new RegExp(`${queueId}: .*status=deferred`));
			expect(await storeList(n8n().install, scenario().store, 'spool')).toEqual([]);
		} finally {
			await postfix.stop();
		}
	}, 600_000);
});
