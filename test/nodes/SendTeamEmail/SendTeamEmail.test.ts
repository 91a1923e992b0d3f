import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dkimVerify } from 'mailauth';
import { simpleParser } from 'mailparser';
import type { ICredentialDataDecryptedObject, IDataObject, INodeParameters } from 'n8n-workflow';

import { zoneResolver, type Zone } from '../../../core/dns';
import { generateDkimKeyPair } from '../../../core/sending-domain/keys';
import { HostedInbox } from '../../../nodes/HostedInbox/HostedInbox.node';
import { ResolveOriginalSender } from '../../../nodes/ResolveOriginalSender/ResolveOriginalSender.node';
import { SendTeamEmail } from '../../../nodes/SendTeamEmail/SendTeamEmail.node';
import { startSmtpSink, type SmtpSink } from '../../core/outbound/smtp-sink';
import { intakeItem } from '../../support/items';
import { packageNodeTypes, PACKAGE, runWorkflow, type WorkflowJson } from '../../support/n8n-engine';
import { describeEachNodeStore, type NodeStore } from '../../support/nodeStores';

const NODE_TYPES = packageNodeTypes(SendTeamEmail, HostedInbox, ResolveOriginalSender);
const SIGNATURE = '<p>Kind regards,<br>{{first_name}}</p><p>{{full_name}} · Acme Support</p>';

let sink: SmtpSink;
const zoneDir = mkdtempSync(join(tmpdir(), 'hi-zone-'));
const zoneFile = join(zoneDir, 'zone.json');
const zone: Zone = {};
const previousZoneEnv = process.env.HOSTED_INBOX_DNS_ZONE;

beforeAll(async () => {
	sink = await startSmtpSink();
	writeFileSync(zoneFile, '{}');
	// The nodes resolve DNS through this zone file instead of the network.
	process.env.HOSTED_INBOX_DNS_ZONE = zoneFile;
});
afterAll(async () => {
	await sink.close();
	if (previousZoneEnv === undefined) delete process.env.HOSTED_INBOX_DNS_ZONE;
	else process.env.HOSTED_INBOX_DNS_ZONE = previousZoneEnv;
	rmSync(zoneDir, { recursive: true, force: true });
});

function publish(records: IDataObject[]): void {
	for (const r of records) if (r.required || r.purpose === 'dmarc') zone[r.name as string] = { TXT: [r.strings as string[]] };
	writeFileSync(zoneFile, JSON.stringify(zone));
}

describeEachNodeStore('Send Team Email inside n8n', (get) => {
	let n = 0;
	const last = async () => ({ ...sink.received.at(-1)!, mail: await simpleParser(sink.received.at(-1)!.raw) });

	/** Start -> [Resolve Original Sender ->] Send Team Email (or Hosted Inbox), as a user would wire them. */
	function workflow(ns: NodeStore, main: { type: string; parameters: INodeParameters; credentials?: Record<string, { id: string; name: string }> }, resolveFirst = false): WorkflowJson {
		const credentials = { ...ns.nodeCredentials, ...main.credentials };
		const nodes: WorkflowJson['nodes'] = [
			{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
			{ name: 'Step', type: `${PACKAGE}.${main.type}`, parameters: { ...ns.params, ...main.parameters }, ...(Object.keys(credentials).length ? { credentials } : {}) },
		];
		const to = (name: string) => [{ node: name, type: 'main' as const, index: 0 }];
		if (!resolveFirst) return { nodes, connections: { Start: { main: [to('Step')] } } };
		nodes.push({ name: 'Resolve Original Sender', type: `${PACKAGE}.resolveOriginalSender`, parameters: { ...ns.params }, ...(ns.nodeCredentials ? { credentials: ns.nodeCredentials } : {}) });
		return { nodes, connections: { Start: { main: [to('Resolve Original Sender')] }, 'Resolve Original Sender': { main: [to('Step')] } } };
	}

	async function setup() {
		const ns = get();
		n += 1;
		const inbox = `team${n}.${ns.engine}@inbox.example.test`;
		await ns.store.registerInbox({ address: inbox });
		const agent = await ns.store.createAgent({ email: `ana${n}.${ns.engine}@acme.test`, firstName: 'Ana', fullName: 'Ana Lopez' });
		const credentials = { ...ns.credentials, smtp: { ...sink.settings } as unknown as ICredentialDataDecryptedObject };
		const send = (parameters: INodeParameters, items: IDataObject[], extra: { credentials?: Record<string, { id: string; name: string }>; creds?: Record<string, ICredentialDataDecryptedObject>; resolveFirst?: boolean } = {}) =>
			runWorkflow(
				workflow(ns, { type: 'sendTeamEmail', parameters: { agent: agent.email, companyName: `Acme ${inbox}`, message: 'We are on it.', signature: SIGNATURE, ...parameters }, credentials: { smtp: { id: 'smtp-test', name: 'Loopback SMTP' }, ...extra.credentials } }, extra.resolveFirst),
				{ nodeTypes: NODE_TYPES, inputItems: items, credentials: { ...credentials, ...extra.creds } },
			);
		const manage = (parameters: INodeParameters, extra: { credentials?: Record<string, { id: string; name: string }>; creds?: Record<string, ICredentialDataDecryptedObject> } = {}) =>
			runWorkflow(workflow(ns, { type: 'hostedInbox', parameters, credentials: extra.credentials }), { nodeTypes: NODE_TYPES, credentials: { ...credentials, ...extra.creds } });
		return { ns, inbox, agent, send, manage };
	}

	it('replies to a trigger item after Resolve Original Sender, with the from-name, signature and threading', async () => {
		const { ns, inbox, agent, send } = await setup();
		const item = intakeItem({ inbox, from: 'jane@example.com', fromName: 'Jane', subject: 'Fwd: Order 7', messageId: `o7.${inbox}` });
		const result = await send({}, [item as unknown as IDataObject], { resolveFirst: true });
		expect(result.error).toBeUndefined();
		const [out] = result.json('Step');
		const teamEmail = out.teamEmail as IDataObject;
		expect(teamEmail).toMatchObject({ sent: true, to: ['jane@example.com'], subject: 'Re: Order 7', inReplyTo: [`o7.${inbox}`], from: { name: `Ana Lopez at Acme ${inbox}`, address: inbox } });
		// The item keeps what the trigger and Resolve Original Sender put in it.
		expect((out.conversation as IDataObject).id).toBe(teamEmail.conversationId);
		expect(out.email).toEqual(item.email);

		const { mail, rcptTo } = await last();
		expect(rcptTo).toEqual(['jane@example.com']);
		expect(mail.from?.text).toBe(`"Ana Lopez at Acme ${inbox}" <${inbox}>`);
		expect(mail.inReplyTo).toBe(`<o7.${inbox}>`);
		expect(mail.text).toContain('Kind regards,\nAna\n\nAna Lopez · Acme Support');
		const messages = await ns.store.listMessages(teamEmail.conversationId as string);
		expect(messages.map((m) => [m.direction, m.senderAgentId])).toEqual([
			['in', null],
			['out', agent.id],
		]);
	});

	it('says why an automatic acknowledgement was not sent to an auto-reply, and sends nothing', async () => {
		const { inbox, send } = await setup();
		const item = intakeItem({ inbox, from: 'ooo@example.com', subject: 'Out of office', messageId: `ooo.${inbox}` });
		item.kind = 'auto-reply';
		const count = sink.received.length;
		const result = await send({ automatic: true }, [item as unknown as IDataObject], { resolveFirst: true });
		expect(result.error).toBeUndefined();
		expect(result.json('Step')[0].teamEmail).toEqual({ sent: false, automatic: true, reason: 'Automatic message not sent: it is an automatic reply (out of office, vacation or another auto-responder)' });
		expect(sink.received.length).toBe(count);
	});

	it('refuses an automatic acknowledgement to an unauthenticated, thread-refused or quarantined message, sending nothing; a manual reply still goes', async () => {
		const { inbox, send } = await setup();
		const count = sink.received.length;
		const spoofed = intakeItem({ inbox, from: 'victim@example.com', subject: 'Hello', messageId: `spoof.${inbox}`, originalSender: { trusted: false, evidence: ['not authenticated'] } });
		spoofed.auth = { spf: { result: 'softfail', domain: 'example.com' }, dkim: { result: 'none', signatures: [] }, dmarc: { result: 'none' } };
		const customer = intakeItem({ inbox, from: 'zoe@example.com', messageId: `zoe.${inbox}` });
		const stranger = intakeItem({ inbox, from: 'mallory@example.org', inReplyTo: [`zoe.${inbox}`] });
		const quarantined = intakeItem({ inbox, from: 'dan@example.com', messageId: `dan.${inbox}` });
		// Held, then released by someone: recorded, but never answered automatically.
		quarantined.verdict = { ...quarantined.verdict, action: 'quarantine', smtpCode: 250 };
		quarantined.released = { by: 'ana@company.test', at: new Date().toISOString() };
		const result = await send({ automatic: true }, [spoofed, customer, stranger, quarantined] as unknown as IDataObject[], { resolveFirst: true });
		expect(result.error).toBeUndefined();
		const outcomes = result.json('Step').map((item) => item.teamEmail as IDataObject);
		expect(outcomes[0]).toEqual({
			sent: false,
			automatic: true,
			reason: 'Automatic message not sent: its sender victim@example.com is not authenticated (no DMARC pass, no passing DKIM or SPF aligned with its domain, not a trusted original sender)',
		});
		expect(outcomes[1]).toMatchObject({ sent: true, to: ['zoe@example.com'] });
		expect(outcomes[2]).toEqual({ sent: false, automatic: true, reason: 'Automatic message not sent: it is flagged "thread-refused"' });
		expect(outcomes[3]).toEqual({ sent: false, automatic: true, reason: 'Automatic message not sent: the intake did not accept it (quarantine)' });
		expect(sink.received.map((r) => r.rcptTo).slice(count)).toEqual([['zoe@example.com']]);

		// An agent's manual reply is never refused.
		const manual = await send({}, [spoofed as unknown as IDataObject], { resolveFirst: true });
		expect(manual.json('Step')[0].teamEmail).toMatchObject({ sent: true, to: ['victim@example.com'] });
		expect(sink.received.length).toBe(count + 2);
	});

	it('fails with a clear error for a from-name another inbox holds, and for an unknown signature token', async () => {
		const first = await setup();
		const second = await setup();
		const newConversation = { mode: 'new', contactEmail: 'x@example.com', subject: 'Hello', companyName: 'Shared Name' };
		expect((await first.send({ ...newConversation, inbox: first.inbox }, [{}])).error).toBeUndefined();
		const taken = await second.send({ ...newConversation, inbox: second.inbox }, [{}]);
		expect(taken.error?.message).toBe(`The from-name "<agent> at Shared Name" is already used by the inbox ${first.inbox}; one from-name may serve only one hosted address`);

		const count = sink.received.length;
		const token = await second.send({ mode: 'new', inbox: second.inbox, contactEmail: 'x@example.com', subject: 'Hello', signature: 'Cheers, {{nickname}}' }, [{}]);
		expect(token.error?.message).toMatch(/^The team signature uses unknown token \{\{nickname\}\}/);
		expect(sink.received.length).toBe(count);
	});

	it("runs the reply template's Send Team Email step as bundled: a threaded reply with the team's from-name and signature", async () => {
		const { ns, inbox, agent } = await setup();
		const template = JSON.parse(readFileSync(join(__dirname, '../../../workflows/reply.json'), 'utf8')) as WorkflowJson;
		const step = template.nodes.find((node) => node.type === `${PACKAGE}.sendTeamEmail`)!;
		// The company name is unique per test inbox (one from-name per hosted address); everything else is the template's.
		const parameters = { ...step.parameters, ...ns.params, inbox, companyName: `Acme Support ${inbox}` };
		const item = intakeItem({ inbox, from: 'lee@example.com', subject: 'Where is my parcel?', messageId: `parcel.${inbox}` });
		const resolved = await runWorkflow(workflow(ns, { type: 'resolveOriginalSender', parameters: {} }), { nodeTypes: NODE_TYPES, inputItems: [item as unknown as IDataObject], credentials: ns.credentials });
		const id = (resolved.json('Step')[0].conversation as IDataObject).id as string;

		// What the form's or the webhook's Set step hands on.
		const result = await runWorkflow(
			{ nodes: [{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} }, { ...step, parameters, credentials: { ...ns.nodeCredentials, ...step.credentials } }], connections: { Start: { main: [[{ node: step.name, type: 'main', index: 0 }]] } } },
			{ nodeTypes: NODE_TYPES, inputItems: [{ conversationId: id, agent: agent.email, message: 'It left our warehouse today.' }], credentials: { ...ns.credentials, smtp: { ...sink.settings } as unknown as ICredentialDataDecryptedObject } },
		);
		expect(result.error).toBeUndefined();
		const { mail, rcptTo } = await last();
		expect(rcptTo).toEqual(['lee@example.com']);
		expect(mail.from?.value).toEqual([{ name: `Ana Lopez at Acme Support ${inbox}`, address: inbox }]);
		expect(mail.subject).toBe('Re: Where is my parcel?');
		expect(mail.inReplyTo).toBe(`<parcel.${inbox}>`);
		expect(mail.text).toBe('It left our warehouse today.\n\n-- \nBest regards,\nAna\n\nAna Lopez · Acme Support');
	});

	it('connects and verifies a sending domain with Hosted Inbox, then sends from a custom address, DKIM-signed', async () => {
		const { inbox, send, manage } = await setup();
		const domain = `brand${n}.${get().engine}.test`;

		// The key is made outside n8n (`hosted-inbox sending-domain keygen`) and lives only in the credential.
		const credential = { domain, selector: 'hi1', privateKey: generateDkimKeyPair().privateKey };
		const domainCredential = { credentials: { hostedInboxSendingDomainApi: { id: 'sd-test', name: 'Brand domain' } }, creds: { hostedInboxSendingDomainApi: credential as ICredentialDataDecryptedObject } };
		const connected = await manage({ resource: 'sendingDomain', operation: 'connect', spfMechanism: 'include:_spf.mail.test' }, domainCredential);
		expect(connected.error).toBeUndefined();
		const [connection] = connected.json('Step');
		expect(connection).toMatchObject({ domain, selector: 'hi1', verified: false });
		expect(JSON.stringify(connected.run)).not.toContain('PRIVATE KEY');
		expect((connection.records as IDataObject[]).map((r) => [r.purpose, r.name])).toEqual([
			['dkim', `hi1._domainkey.${domain}`],
			['spf', domain],
			['dmarc', `_dmarc.${domain}`],
		]);

		// Nothing published yet: Verify and Send both name the missing DKIM record.
		const [unverified] = (await manage({ resource: 'sendingDomain', operation: 'verify', domain })).json('Step');
		expect(unverified.verified).toBe(false);
		expect(unverified.summary).toContain(`DKIM record missing (no DKIM key (TXT "v=DKIM1; ...") at hi1._domainkey.${domain}`);
		expect(unverified.summary).toContain(`SPF record missing (no SPF record (TXT "v=spf1 ...") at ${domain}`);
		const custom = { fromAddress: 'custom', customFromAddress: `help@${domain}`, mode: 'new', inbox, contactEmail: 'kim@example.com', subject: 'Welcome' };
		const refused = await send(custom, [{}], domainCredential);
		expect(refused.error?.message).toMatch(new RegExp(`^Custom from-address refused: ${domain.replace(/\./g, '\\.')} is not verified: DKIM record missing`));

		publish(connection.records as IDataObject[]);
		const [verified] = (await manage({ resource: 'sendingDomain', operation: 'verify', domain })).json('Step');
		expect(verified).toMatchObject({ verified: true, summary: `${domain} is verified` });

		const sent = await send(custom, [{}], domainCredential);
		expect(sent.error).toBeUndefined();
		expect(sent.json('Step')[0].teamEmail).toMatchObject({ sent: true, from: { address: `help@${domain}` }, dkim: { domain, selector: 'hi1' } });
		const { mail, raw } = await last();
		expect(mail.from?.value[0].address).toBe(`help@${domain}`);
		const dkim = await dkimVerify(raw, { resolver: zoneResolver(zone) });
		expect(dkim.results.map((r) => [r.signingDomain, r.status.result])).toEqual([[domain, 'pass']]);
	});
});
