/**
 * Sending-domain secrets, inside n8n-core: Connect takes the DKIM key from the Hosted Inbox Sending Domain API
 * credential and never puts it in the node output or the execution data; a verified domain is never re-keyed by
 * Connect; the sending-domain operations are not offered to AI agents (n8n's `@tool` display rule) and refused when
 * the node runs as a tool anyway. The key is made by `hosted-inbox sending-domain keygen`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeHelpers, type ICredentialDataDecryptedObject, type IDataObject, type INodeParameters, type INodePropertyOptions } from 'n8n-workflow';

import { publicKeyOf } from '../../../core/sending-domain/keys';
import { HostedInbox } from '../../../nodes/HostedInbox/HostedInbox.node';
import { runCli } from '../../support/cli';
import { PACKAGE, packageNodeTypes, runWorkflow, type NodeTypeMap } from '../../support/n8n-engine';
import { describeEachNodeStore, type NodeStore } from '../../support/nodeStores';

/** n8n runs a node an AI agent uses as `<name>Tool`: the same class under that type. */
const NODE_TYPES: NodeTypeMap = { ...packageNodeTypes(HostedInbox), [`${PACKAGE}.hostedInboxTool`]: HostedInbox };
const zoneDir = mkdtempSync(join(tmpdir(), 'hi-sd-zone-'));
const zoneFile = join(zoneDir, 'zone.json');
const previousZone = process.env.HOSTED_INBOX_DNS_ZONE;

beforeAll(() => {
	writeFileSync(zoneFile, '{}');
	process.env.HOSTED_INBOX_DNS_ZONE = zoneFile;
});
afterAll(() => {
	if (previousZone === undefined) delete process.env.HOSTED_INBOX_DNS_ZONE;
	else process.env.HOSTED_INBOX_DNS_ZONE = previousZone;
	rmSync(zoneDir, { recursive: true, force: true });
});

/** A key as the user makes it: the CLI prints the PEM to the terminal and nothing else to stdout. */
async function keygen(): Promise<string> {
	const made = await runCli(['sending-domain', 'keygen']);
	expect(made.code).toBe(0);
	expect(made.stdout).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
	expect(made.stderr).toMatch(/Hosted Inbox Sending Domain API/);
	return made.stdout;
}

/** The key's base64 body, in pieces any copy of it would contain. */
const keyPieces = (pem: string) => pem.split('\n').filter((line) => line && !line.startsWith('-----'));

describeEachNodeStore('Sending domain secrets inside n8n', (get) => {
	let n = 0;

	function run(ns: NodeStore, parameters: INodeParameters, credential: ICredentialDataDecryptedObject, type = 'hostedInbox') {
		return runWorkflow(
			{
				nodes: [
					{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
					{
						name: 'Hosted Inbox',
						type: `${PACKAGE}.${type}`,
						parameters: { ...ns.params, resource: 'sendingDomain', ...parameters },
						credentials: { ...ns.nodeCredentials, hostedInboxSendingDomainApi: { id: 'sd', name: 'Brand domain' } },
					},
				],
				connections: { Start: { main: [[{ node: 'Hosted Inbox', type: 'main', index: 0 }]] } },
			},
			{ nodeTypes: NODE_TYPES, credentials: { ...ns.credentials, hostedInboxSendingDomainApi: credential } },
		);
	}

	function publish(records: IDataObject[]): void {
		const zone = Object.fromEntries(records.filter((r) => r.required).map((r) => [r.name as string, { TXT: [r.strings as string[]] }]));
		writeFileSync(zoneFile, JSON.stringify(zone));
	}

	it('Connect outputs the DNS records from the credential\'s key, and the private key is nowhere in the execution', async () => {
		const ns = get();
		const domain = `brand${++n}.${ns.engine}.test`;
		const privateKey = await keygen();
		const connected = await run(ns, { operation: 'connect' }, { domain, selector: 'hi1', privateKey });
		expect(connected.error).toBeUndefined();
		const [out] = connected.json('Hosted Inbox');
		expect(out).toMatchObject({ domain, selector: 'hi1', publicKey: publicKeyOf(privateKey), verified: false });
		expect((out.records as IDataObject[])[0]).toMatchObject({ purpose: 'dkim', name: `hi1._domainkey.${domain}`, value: `v=DKIM1; k=rsa; p=${publicKeyOf(privateKey)}` });
		// The whole execution as n8n would save it: run data, node output, errors.
		const saved = JSON.stringify(connected.run);
		expect(saved).not.toContain('PRIVATE KEY');
		for (const piece of keyPieces(privateKey)) expect(saved).not.toContain(piece);
		expect(JSON.stringify(await ns.store.getSendingDomain(domain))).not.toContain(keyPieces(privateKey)[1]);
	});

	it('Connect on a verified domain with the same selector is refused and changes nothing; a new selector re-keys', async () => {
		const ns = get();
		const domain = `brand${++n}.${ns.engine}.test`;
		const first = await keygen();
		const [connected] = (await run(ns, { operation: 'connect' }, { domain, selector: 'hi1', privateKey: first })).json('Hosted Inbox');
		publish(connected.records as IDataObject[]);
		const verify = await run(ns, { operation: 'verify', domain }, { domain, selector: 'hi1', privateKey: first });
		expect(verify.json('Hosted Inbox')[0]).toMatchObject({ verified: true });

		for (const privateKey of [await keygen(), first]) {
			const again = await run(ns, { operation: 'connect' }, { domain, selector: 'hi1', privateKey });
			expect(again.error?.message).toMatch(new RegExp(`^${domain.replace(/\./g, '\\.')} is already connected and verified with the DKIM selector "hi1".*new selector`));
			expect(JSON.stringify(again.run)).not.toContain('PRIVATE KEY');
		}
		expect(await ns.store.getSendingDomain(domain)).toMatchObject({ selector: 'hi1', publicKey: publicKeyOf(first), verified: true });

		const second = await keygen();
		const rekeyed = await run(ns, { operation: 'connect' }, { domain, selector: 'hi2', privateKey: second });
		expect(rekeyed.error).toBeUndefined();
		expect(rekeyed.json('Hosted Inbox')[0]).toMatchObject({ selector: 'hi2', publicKey: publicKeyOf(second), verified: false });
	});

	it('is not offered to AI agents, and refused when the node runs as a tool', async () => {
		const ns = get();
		const { description } = new HostedInbox();
		const resource = description.properties.find((p) => p.name === 'resource')!;
		const option = (resource.options as INodePropertyOptions[]).find((o) => o.value === 'sendingDomain')!;
		const asTool = { ...description, name: 'hostedInboxTool' };
		// n8n's own rule for what the editor offers (getParameterDisplayableOptions): shown as a node, hidden as a tool.
		expect(NodeHelpers.displayParameter({}, option, { typeVersion: 1 }, description)).toBe(true);
		expect(NodeHelpers.displayParameter({}, option, { typeVersion: 1 }, asTool)).toBe(false);
		// Other resources stay available to agents.
		const conversation = (resource.options as INodePropertyOptions[]).find((o) => o.value === 'conversation')!;
		expect(NodeHelpers.displayParameter({}, conversation, { typeVersion: 1 }, asTool)).toBe(true);

		const domain = `brand${++n}.${ns.engine}.test`;
		const refused = await run(ns, { operation: 'connect' }, { domain, selector: 'hi1', privateKey: await keygen() }, 'hostedInboxTool');
		expect(refused.error?.message).toMatch(/reads a secret credential and is not available to AI agents/);
		expect(await ns.store.getSendingDomain(domain)).toBeNull();
	});
});
