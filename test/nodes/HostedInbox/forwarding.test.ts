/**
 * Forwarding verification end to end on loopback: the Hosted Inbox node (inside n8n-core) sends the test through n8n's
 * SMTP credential to a stand-in provider (a real smtp-server), which forwards it Gmail-style to the Hosted Inbox
 * Trigger's SMTP port (activated through n8n-core's trigger machinery); the check goes waiting -> verified, or
 * failed with its causes when the forwarder is off; forged and replayed tokens verify nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { createTransport } from 'nodemailer';

import { composeForwardingTest } from '../../../core/forwarding/test-message';
import { newForwardingToken } from '../../../core/forwarding/token';
import { HostedInbox } from '../../../nodes/HostedInbox/HostedInbox.node';
import { HostedInboxTrigger } from '../../../nodes/HostedInboxTrigger/HostedInboxTrigger.node';
import { TestProvider } from '../../core/forwarding/provider';
import { packageNodeTypes, PACKAGE, runWorkflow, startTrigger, type TriggerHandle } from '../../support/n8n-engine';
import { describeEachNodeStore, type NodeStore } from '../../support/nodeStores';
import { freePort } from '../../support/ports';

const NODE_TYPES = packageNodeTypes(HostedInbox, HostedInboxTrigger);
const PUBLIC = 'support@company.test';
const FORWARDING_OUTPUT = 1;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a trigger execution said about the test message's token. */
const outcomeOf = (execution: { emitted: Array<Array<{ json: IDataObject }>> }) =>
	((execution.emitted[FORWARDING_OUTPUT][0].json.verification as IDataObject).check as IDataObject).outcome;

describeEachNodeStore('Forwarding verification, end to end on loopback', (get) => {
	const previousZone = process.env.HOSTED_INBOX_DNS_ZONE;
	let handle: TriggerHandle | undefined;
	let provider: TestProvider | undefined;
	let n = 0;

	beforeAll(() => {
		// Offline DNS with no records: SPF, DKIM and DMARC read "none", so only forwarding decides.
		const zone = join(mkdtempSync(join(tmpdir(), 'hi-fw-zone-')), 'empty.json');
		writeFileSync(zone, '{}');
		process.env.HOSTED_INBOX_DNS_ZONE = zone;
	});
	afterEach(async () => {
		await provider?.stop();
		await handle?.stop();
		provider = undefined;
		handle = undefined;
	});
	afterAll(() => {
		process.env.HOSTED_INBOX_DNS_ZONE = previousZone;
	});

	/** An active trigger for a fresh hosted address, and the provider forwarding support@company.test to it. */
	async function setup() {
		const ns = get();
		const local = `fwd-${++n}`;
		const hosted = `${local}@inbox.example.test`;
		const port = await freePort();
		handle = await startTrigger(
			{
				nodes: [
					{
						name: 'Hosted Inbox Trigger',
						type: `${PACKAGE}.hostedInboxTrigger`,
						// Include Raw Message on: a forwarding test must still come out without its raw form (it holds the token).
						parameters: { ...ns.params, receiveVia: 'smtp', forwardingLocalPart: local, forwardingDomain: 'inbox.example.test', smtpHost: '127.0.0.1', smtpPort: port, options: { includeRaw: true } },
						...(ns.nodeCredentials ? { credentials: ns.nodeCredentials } : {}),
					},
					{ name: 'Message', type: 'n8n-nodes-base.noOp', parameters: {} },
					{ name: 'Forwarding confirmation', type: 'n8n-nodes-base.noOp', parameters: {} },
				],
				connections: {
					'Hosted Inbox Trigger': {
						main: [[{ node: 'Message', type: 'main', index: 0 }], [{ node: 'Forwarding confirmation', type: 'main', index: 0 }]],
					},
				},
			},
			{ nodeTypes: NODE_TYPES, credentials: ns.credentials },
		);
		provider = new TestProvider({ publicAddress: PUBLIC, forwardTo: hosted, forwardPort: port });
		await provider.start();
		return { ns, hosted, port, handle, provider, inboxId: (await ns.store.getInbox(hosted))!.id };
	}

	/** The Hosted Inbox node, with n8n's SMTP credential pointing at the provider. */
	async function runHostedInbox(ns: NodeStore, parameters: INodeParameters, smtpPort: number) {
		const run = await runWorkflow(
			{
				nodes: [
					{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
					{
						name: 'Hosted Inbox',
						type: `${PACKAGE}.hostedInbox`,
						parameters: { ...ns.params, resource: 'forwarding', ...parameters },
						credentials: { ...ns.nodeCredentials, smtp: { id: 'team-smtp', name: 'Team SMTP' } },
					},
				],
				connections: { Start: { main: [[{ node: 'Hosted Inbox', type: 'main', index: 0 }]] } },
			},
			{ nodeTypes: NODE_TYPES, credentials: { ...ns.credentials, smtp: { host: '127.0.0.1', port: smtpPort, secure: false, disableStartTls: true, user: '', password: '' } } },
		);
		expect(run.error).toBeUndefined();
		return run.json('Hosted Inbox');
	}

	const statusOf = async (ns: NodeStore, hosted: string, smtpPort: number) => (await runHostedInbox(ns, { operation: 'getStatus', inbox: hosted }, smtpPort))[0];

	it('goes waiting, then verified with the forwarding path, and the test comes out on Forwarding confirmation only', async () => {
		const { ns, hosted, handle, provider, inboxId } = await setup();
		const [started] = await runHostedInbox(ns, { operation: 'verify', inbox: hosted, publicAddress: PUBLIC }, provider.port);
		expect(started).toMatchObject({ inbox: { address: hosted }, check: { status: 'waiting', publicAddress: PUBLIC }, sent: { to: [PUBLIC] } });
		expect(started.check).not.toHaveProperty('token');
		// Default timeout: 10 minutes from now.
		const check = started.check as IDataObject;
		expect(Date.parse(check.deadline as string) - Date.parse(check.createdAt as string)).toBeGreaterThan(9.9 * 60_000);

		const [execution] = await handle.waitForExecutions(1, 20_000);
		expect(execution.error).toBeUndefined();
		expect(execution.emitted[0]).toEqual([]);
		const [item] = execution.emitted[FORWARDING_OUTPUT];
		expect(item.json).toMatchObject({
			kind: 'forwarding-test',
			envelope: { mailFrom: `support+caf_=${hosted.replace('@', '=')}@company.test`, rcpt: [hosted] },
			verification: { provider: 'hosted-inbox', check: { outcome: 'verified', checkId: check.id } },
		});
		await provider.settled();
		expect(provider.received[0].forwarded).toMatch(/^250 /);

		const status = await statusOf(ns, hosted, provider.port);
		expect(status).toMatchObject({ status: 'verified', causes: [], check: { id: check.id, verifiedAt: expect.any(String) } });
		const evidence = (status.check as IDataObject).evidence as Record<string, any>;
		expect(evidence.forwarding).toMatchObject({ xForwardedFor: [`${PUBLIC} ${hosted}`], xForwardedTo: [hosted], envelopeRewrite: 'gmail-caf' });
		// The provider's two hops, newest first (the message's own submission went straight to the provider).
		expect(evidence.received.map((hop: IDataObject) => hop.by)).toEqual(['mx.company.test', 'mx.company.test']);
		expect(evidence.received[1]).toMatchObject({ from: 'client.company.test', with: 'ESMTP' });
		expect(evidence.client).toEqual({ ip: '127.0.0.1', helo: 'mx.company.test' });
		expect(evidence.auth).toMatchObject({ spf: { result: expect.any(String) }, dmarc: { result: expect.any(String) } });
		// Never a contact, conversation or ticket.
		expect(await ns.store.listContacts(inboxId)).toEqual([]);
		expect(await ns.store.listConversations({ inboxId })).toEqual([]);
		// The token is in no output, item or log entry: only the store's own check row holds it.
		const nonce = (await ns.store.latestForwardingChecks(inboxId))[0].token.split('.')[1];
		for (const seen of [started, item.json, status, await ns.store.listIntake({ inboxId })]) expect(JSON.stringify(seen)).not.toContain(nonce);
		expect(item.binary?.raw).toBeUndefined();
	});

	it('a test delivered straight to the hosted address (no forwarding hop) fails "delivered directly, not forwarded"', async () => {
		const { ns, hosted, port, handle, provider, inboxId } = await setup();
		provider.forwarding = false;
		const [started] = await runHostedInbox(ns, { operation: 'verify', inbox: hosted, publicAddress: PUBLIC }, provider.port);
		// The test as the SMTP server sent it, handed to the hosted listener itself instead of being forwarded.
		const direct = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'smtp.company.test' });
		await direct.sendMail({ envelope: { from: PUBLIC, to: [hosted] }, raw: provider.received[0].raw });
		direct.close();
		const [execution] = await handle.waitForExecutions(1, 20_000);
		expect(outcomeOf(execution)).toBe('not-forwarded');
		const status = await statusOf(ns, hosted, provider.port);
		expect(status).toMatchObject({ status: 'failed', check: { id: (started.check as IDataObject).id } });
		expect(status.causes).toEqual([expect.objectContaining({ cause: 'delivered-directly', explanation: expect.stringMatching(/^Delivered directly, not forwarded/) })]);
		expect(await ns.store.listConversations({ inboxId })).toEqual([]);
	});

	it('a test header with a token not issued for this inbox comes out on Message, never on Forwarding confirmation', async () => {
		const { hosted, port, handle } = await setup();
		const forger = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'forger.example' });
		for (const token of [newForwardingToken('someone-else@inbox.example.test'), 'verified-please']) {
			const forged = await composeForwardingTest({ publicAddress: PUBLIC, inboxAddress: hosted, token, deadline: new Date() });
			await forger.sendMail({ envelope: { from: PUBLIC, to: [hosted] }, raw: forged.raw });
		}
		forger.close();
		const executions = await handle.waitForExecutions(2, 20_000);
		for (const execution of executions) {
			expect(execution.emitted[FORWARDING_OUTPUT]).toEqual([]);
			expect(execution.emitted[0]).toEqual([expect.objectContaining({ json: expect.objectContaining({ kind: 'auto-reply', verification: null }) })]);
			expect((execution.emitted[0][0].json.verdict as IDataObject).flags).toContain('forwarding-test-foreign');
			// An ordinary message keeps Include Raw Message.
			expect(execution.emitted[0][0].binary?.raw).toMatchObject({ mimeType: 'message/rfc822' });
		}
	});

	it('with the forwarder off it goes failed after the (shortened) timeout, with the likely causes', async () => {
		const { ns, hosted, handle, provider } = await setup();
		provider.forwarding = false;
		const [started] = await runHostedInbox(ns, { operation: 'verify', inbox: hosted, publicAddress: PUBLIC, timeoutMinutes: 0.01 }, provider.port);
		expect(started).toMatchObject({ check: { status: 'waiting' } });
		expect(await statusOf(ns, hosted, provider.port)).toMatchObject({ status: 'waiting', causes: [] });
		await sleep(800);
		const status = await statusOf(ns, hosted, provider.port);
		expect(status).toMatchObject({ status: 'failed', check: { id: (started.check as IDataObject).id, verifiedAt: null } });
		expect((status.causes as IDataObject[]).map((c) => c.cause)).toEqual(['no-forwarding-rule', 'provider-confirmation-pending', 'external-forwarding-blocked']);
		// The provider did get it: it just never forwarded.
		expect(provider.received).toHaveLength(1);
		expect(handle.executions).toHaveLength(0);
	});

	it('a forged test message with a wrong token, or a replay of a verified one, verifies nothing', async () => {
		const { ns, hosted, port, handle, provider, inboxId } = await setup();
		await runHostedInbox(ns, { operation: 'verify', inbox: hosted, publicAddress: PUBLIC }, provider.port);
		await handle.waitForExecutions(1, 20_000);
		await provider.settled();
		const forwardedRaw = provider.received[0].raw;
		const forger = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'forger.example' });

		// Replaying the verified test message straight to the hosted address.
		await forger.sendMail({ envelope: { from: PUBLIC, to: [hosted] }, raw: forwardedRaw });
		expect(outcomeOf((await handle.waitForExecutions(2, 20_000))[1])).toBe('already-verified');

		// A second check is waiting: a self-minted token (its shape anyone can compute) and the old one replayed again
		// verify nothing and never reach the Forwarding output: they are ordinary messages, flagged.
		provider.forwarding = false;
		const [second] = await runHostedInbox(ns, { operation: 'verify', inbox: hosted, publicAddress: PUBLIC }, provider.port);
		const guessed = await composeForwardingTest({ publicAddress: PUBLIC, inboxAddress: hosted, token: newForwardingToken(hosted), deadline: new Date() });
		await forger.sendMail({ envelope: { from: PUBLIC, to: [hosted] }, raw: guessed.raw });
		await forger.sendMail({ envelope: { from: PUBLIC, to: [hosted] }, raw: forwardedRaw });
		forger.close();
		const executions = await handle.waitForExecutions(4, 20_000);
		for (const execution of executions.slice(2)) {
			expect(execution.emitted[FORWARDING_OUTPUT]).toEqual([]);
			expect(execution.emitted[0][0].json).toMatchObject({ kind: 'message', verdict: { flags: expect.arrayContaining(['forwarding-test-foreign']) } });
		}
		expect(await statusOf(ns, hosted, provider.port)).toMatchObject({ status: 'waiting', check: { id: (second.check as IDataObject).id } });
		expect(await ns.store.listConversations({ inboxId })).toEqual([]);
	});
});
