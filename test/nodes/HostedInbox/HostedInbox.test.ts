/**
 * The Hosted Inbox node run inside n8n-core (WorkflowExecute, real parameter resolution and credentials), against each
 * store engine: the node opens the store itself, through its Store parameter, and the test checks the same store.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { bytesOf } from '../../../core/message-bytes';
import { HostedInbox } from '../../../nodes/HostedInbox/HostedInbox.node';
import { closeSharedStores } from '../../../nodes/shared/store';
import type { Store } from '../../../core/store/roles';
import { packageNodeTypes, runWorkflow, type CredentialMap, type RunResult } from '../../support/n8n-engine';
import { decisionFor } from '../../fixtures/intake';
import { describeEachStore, TEST_PG_URL } from '../../support/stores';

const nodeTypes = packageNodeTypes(HostedInbox);
const userFolders: string[] = [];

afterAll(async () => {
	await closeSharedStores();
	for (const folder of userFolders) rmSync(folder, { recursive: true, force: true });
});

/** n8n's Postgres credential for the test server. */
function postgresCredential() {
	const url = new URL(TEST_PG_URL);
	return {
		host: url.hostname,
		port: Number(url.port || 5432),
		database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
		user: decodeURIComponent(url.username || 'postgres'),
		password: decodeURIComponent(url.password),
		ssl: 'disable',
		allowUnauthorizedCerts: false,
	};
}

interface Target {
	storeParameters: INodeParameters;
	credentials: CredentialMap;
	nodeCredentials?: { postgres: { id: string; name: string } };
}

/** Points the node's Store parameter at the same store the test opened. */
function targetFor(store: Store): Target {
	if (store.engine === 'postgres') {
		const schema = /\(schema (.+)\)$/.exec(store.location)?.[1];
		if (!schema) throw new Error(`no schema in ${store.location}`);
		return {
			storeParameters: { store: 'postgres', storeSchema: schema },
			credentials: { postgres: postgresCredential() },
			nodeCredentials: { postgres: { id: 'pg', name: 'Inbox store' } },
		};
	}
	// The embedded store lives in n8n's data folder: make that folder's .n8n the test store's directory.
	const userFolder = mkdtempSync(join(tmpdir(), 'hi-node-user-'));
	userFolders.push(userFolder);
	symlinkSync(dirname(store.location), join(userFolder, '.n8n'), 'dir');
	process.env.N8N_USER_FOLDER = userFolder;
	return { storeParameters: { store: 'embedded' }, credentials: {} };
}

async function runNode(target: Target, parameters: INodeParameters, inputItems?: IDataObject[]): Promise<RunResult> {
	return await runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
				{
					name: 'Hosted Inbox',
					type: 'n8n-nodes-hosted-inbox.hostedInbox',
					parameters: { ...target.storeParameters, ...parameters },
					credentials: target.nodeCredentials,
				},
			],
			connections: { Start: { main: [[{ node: 'Hosted Inbox', type: 'main', index: 0 }]] } },
		},
		{ nodeTypes, credentials: target.credentials, inputItems },
	);
}

/** Runs the node and returns its output records; fails the test with the node's error otherwise. */
async function ok(target: Target, parameters: INodeParameters, inputItems?: IDataObject[]): Promise<IDataObject[]> {
	const result = await runNode(target, parameters, inputItems);
	if (result.status !== 'success') throw new Error(`node failed: ${result.error?.message}`);
	return result.json('Hosted Inbox');
}

/** Runs the node expecting a node error; returns it. */
async function fails(target: Target, parameters: INodeParameters) {
	const result = await runNode(target, parameters);
	expect(result.status).toBe('error');
	expect(result.error?.name).toBe('NodeOperationError');
	return result.error!;
}

describeEachStore('Hosted Inbox node', (getStore) => {
	let target: Target;
	let store: Store;
	const inboxAddress = 'support@inbox.example.test';

	beforeAll(async () => {
		store = getStore();
		target = targetFor(store);
		await store.registerInbox({ address: inboxAddress, fromName: 'Example Support' });
	});

	describe('agents', () => {
		it('creates, gets, updates, sets availability, lists and deactivates', async () => {
			const [ana] = await ok(target, {
				resource: 'agent',
				operation: 'create',
				email: 'Ana@Company.test',
				firstName: 'Ana',
				fullName: 'Ana Ruiz',
				additionalFields: { capacity: 5, workingHours: '{"timeZone":"Europe/Madrid","days":{"1":{"start":"09:00","end":"17:00"}}}' },
			});
			expect(ana).toMatchObject({ email: 'Ana@Company.test', firstName: 'Ana', fullName: 'Ana Ruiz', availability: 'available', capacity: 5, active: true });
			expect(ana.workingHours).toEqual({ timeZone: 'Europe/Madrid', days: { '1': { start: '09:00', end: '17:00' } } });

			// Several input items, parameters from expressions: one agent per item.
			const created = await ok(
				target,
				{ resource: 'agent', operation: 'create', email: '={{ $json.email }}', firstName: '={{ $json.first }}', fullName: '={{ $json.first }} Team' },
				[
					{ email: 'ben@company.test', first: 'Ben' },
					{ email: 'cho@company.test', first: 'Cho' },
				],
			);
			expect(created.map((agent) => agent.email)).toEqual(['ben@company.test', 'cho@company.test']);

			expect((await ok(target, { resource: 'agent', operation: 'get', agent: 'ana@company.test' }))[0].id).toBe(ana.id);
			expect((await ok(target, { resource: 'agent', operation: 'get', agent: ana.id as string }))[0].email).toBe('Ana@Company.test');

			const [updated] = await ok(target, {
				resource: 'agent',
				operation: 'update',
				agent: ana.id as string,
				updateFields: { fullName: 'Ana Ruiz Gil', capacity: 0, workingHours: '' },
			});
			expect(updated).toMatchObject({ fullName: 'Ana Ruiz Gil', firstName: 'Ana', capacity: null, workingHours: null });

			const [away] = await ok(target, { resource: 'agent', operation: 'setAvailability', agent: 'ben@company.test', availability: 'away' });
			expect(away.availability).toBe('away');
			const awayList = await ok(target, { resource: 'agent', operation: 'getAll', returnAll: true, filters: { availability: 'away' } });
			expect(awayList.map((agent) => agent.email)).toEqual(['ben@company.test']);

			const [gone] = await ok(target, { resource: 'agent', operation: 'deactivate', agent: 'cho@company.test' });
			expect(gone.active).toBe(false);
			const deactivated = await ok(target, { resource: 'agent', operation: 'getAll', returnAll: true, filters: { status: 'deactivated' } });
			expect(deactivated.map((agent) => agent.email)).toEqual(['cho@company.test']);
			expect(await ok(target, { resource: 'agent', operation: 'getAll', returnAll: false, limit: 2 })).toHaveLength(2);
		});

		it('syncs availability with working hours: away outside them, back inside, agents without hours untouched', async () => {
			// One-hour windows around the current UTC hour, and twelve hours away from it, every day of the week.
			const hourWindow = (hour: number) => ({ start: `${String(hour).padStart(2, '0')}:00`, end: hour < 23 ? `${String(hour + 1).padStart(2, '0')}:00` : '23:59' });
			const everyDay = (hour: number) => JSON.stringify({ timeZone: 'UTC', days: Object.fromEntries(['0', '1', '2', '3', '4', '5', '6'].map((d) => [d, hourWindow(hour)])) });
			const hour = new Date().getUTCHours();
			await ok(target, { resource: 'agent', operation: 'create', email: 'night@company.test', firstName: 'Nia', fullName: 'Nia Night', additionalFields: { workingHours: everyDay(hour) } });
			await ok(target, { resource: 'agent', operation: 'setAvailability', agent: 'night@company.test', availability: 'away' });
			await ok(target, { resource: 'agent', operation: 'create', email: 'off@company.test', firstName: 'Oli', fullName: 'Oli Off', additionalFields: { workingHours: everyDay((hour + 12) % 24) } });

			const synced = await ok(target, { resource: 'agent', operation: 'syncWorkingHours' });
			const byEmail = Object.fromEntries(synced.map((entry) => [entry.email, entry]));
			expect(byEmail['night@company.test']).toMatchObject({ availability: 'available', changed: true });
			expect(byEmail['off@company.test']).toMatchObject({ availability: 'away', changed: true });
			expect(String(byEmail['off@company.test'].reason)).toMatch(/outside working hours/);
			expect(synced.every((entry) => entry.email !== 'ben@company.test')).toBe(true);
			expect((await store.getAgent('off@company.test'))?.availability).toBe('away');

			const again = await ok(target, { resource: 'agent', operation: 'syncWorkingHours' });
			expect(again.filter((entry) => entry.changed)).toEqual([]);
		});

		it('refuses an unknown agent and an invalid email, changing nothing', async () => {
			const before = await store.listAgents();
			const unknown = await fails(target, { resource: 'agent', operation: 'setAvailability', agent: 'nobody@company.test', availability: 'away' });
			expect(unknown.message).toBe('Unknown agent "nobody@company.test": no agent has this ID or email');
			expect(unknown.description).toBe('Nothing was changed.');
			expect(unknown.context?.itemIndex).toBe(0);

			const invalid = await fails(target, { resource: 'agent', operation: 'create', email: 'not-an-email', firstName: 'X', fullName: 'X Y' });
			expect(invalid.message).toMatch(/Invalid agent email address: "not-an-email"/);

			const badHours = await fails(target, {
				resource: 'agent',
				operation: 'update',
				agent: 'ana@company.test',
				updateFields: { fullName: 'Changed', workingHours: '{"timeZone": ' },
			});
			expect(badHours.message).toMatch(/Not valid JSON in Working Hours/);
			expect(await store.listAgents()).toEqual(before);
		});
	});

	describe('inboxes', () => {
		it('gets, lists, adds and removes agents', async () => {
			const [inbox] = await ok(target, { resource: 'inbox', operation: 'get', inbox: 'SUPPORT@inbox.example.test' });
			expect(inbox).toMatchObject({ address: inboxAddress, fromName: 'Example Support', agents: [] });
			expect((await ok(target, { resource: 'inbox', operation: 'getAll', returnAll: true })).map((i) => i.address)).toContain(inboxAddress);

			const [added] = await ok(target, { resource: 'inbox', operation: 'addAgent', inbox: inboxAddress, agent: 'ana@company.test' });
			expect((added.agents as IDataObject[]).map((agent) => agent.email)).toEqual(['Ana@Company.test']);
			await ok(target, { resource: 'inbox', operation: 'addAgent', inbox: inboxAddress, agent: 'ben@company.test' });
			const [removed] = await ok(target, { resource: 'inbox', operation: 'removeAgent', inbox: inboxAddress, agent: 'ana@company.test' });
			expect((removed.agents as IDataObject[]).map((agent) => agent.email)).toEqual(['ben@company.test']);
			expect((await store.listInboxAgents(inbox.id as string)).map((agent) => agent.email)).toEqual(['ben@company.test']);
		});

		it('refuses an unknown inbox or agent, changing nothing', async () => {
			const inbox = (await store.getInbox(inboxAddress))!;
			const before = await store.listInboxAgents(inbox.id);
			expect((await fails(target, { resource: 'inbox', operation: 'addAgent', inbox: inboxAddress, agent: 'ghost' })).message).toMatch(/Unknown agent "ghost"/);
			expect((await fails(target, { resource: 'inbox', operation: 'get', inbox: 'nope@inbox.example.test' })).message).toMatch(/Unknown inbox "nope@inbox.example.test"/);
			expect(await store.listInboxAgents(inbox.id)).toEqual(before);
		});
	});

	describe('teams', () => {
		it('creates, adds and removes members, lists', async () => {
			const [team] = await ok(target, { resource: 'team', operation: 'create', name: 'Billing' });
			expect(team).toMatchObject({ name: 'Billing', memberIds: [] });
			const ana = (await store.getAgent('ana@company.test'))!;
			const ben = (await store.getAgent('ben@company.test'))!;
			await ok(target, { resource: 'team', operation: 'addMember', team: 'Billing', agent: 'ana@company.test' });
			const [both] = await ok(target, { resource: 'team', operation: 'addMember', team: team.id as string, agent: ben.id });
			expect([...(both.memberIds as string[])].sort()).toEqual([ana.id, ben.id].sort());
			const [one] = await ok(target, { resource: 'team', operation: 'removeMember', team: 'Billing', agent: 'ana@company.test' });
			expect(one.memberIds).toEqual([ben.id]);
			const teams = await ok(target, { resource: 'team', operation: 'getAll', returnAll: true });
			expect(teams.map((t) => t.name)).toEqual(['Billing']);
		});

		it('refuses an unknown team or agent, changing nothing', async () => {
			const before = await store.listTeams();
			expect((await fails(target, { resource: 'team', operation: 'addMember', team: 'Billing', agent: 'ghost@company.test' })).message).toMatch(/Unknown agent/);
			expect((await fails(target, { resource: 'team', operation: 'removeMember', team: 'Nobody', agent: 'ben@company.test' })).message).toMatch(/Unknown team "Nobody"/);
			expect(await store.listTeams()).toEqual(before);
		});
	});

	describe('contacts', () => {
		it('creates with an owner, finds by email (case-insensitive), gets and updates (incl. owner)', async () => {
			const ana = (await store.getAgent('ana@company.test'))!;
			const ben = (await store.getAgent('ben@company.test'))!;
			const [contact] = await ok(target, {
				resource: 'contact',
				operation: 'create',
				inbox: inboxAddress,
				email: 'Maria@Customer.test',
				additionalFields: { name: 'María', owner: 'ana@company.test' },
			});
			expect(contact).toMatchObject({ email: 'Maria@Customer.test', name: 'María', ownerId: ana.id });

			const [found] = await ok(target, { resource: 'contact', operation: 'findByEmail', inbox: inboxAddress, email: 'maria@customer.TEST' });
			expect(found.id).toBe(contact.id);
			expect(await ok(target, { resource: 'contact', operation: 'findByEmail', inbox: inboxAddress, email: 'else@customer.test' })).toEqual([]);
			expect((await ok(target, { resource: 'contact', operation: 'get', contactId: contact.id as string }))[0].email).toBe('Maria@Customer.test');

			const [moved] = await ok(target, { resource: 'contact', operation: 'update', contactId: contact.id as string, updateFields: { owner: ben.email } });
			expect(moved).toMatchObject({ ownerId: ben.id, name: 'María' });
			const [orphan] = await ok(target, { resource: 'contact', operation: 'update', contactId: contact.id as string, updateFields: { owner: '', name: 'Maria P.' } });
			expect(orphan).toMatchObject({ ownerId: null, name: 'Maria P.' });
		});

		it('refuses an invalid email, an unknown owner or contact, changing nothing', async () => {
			const before = await store.listContacts();
			expect(
				(await fails(target, { resource: 'contact', operation: 'create', inbox: inboxAddress, email: 'bad@@x', additionalFields: {} })).message,
			).toMatch(/Invalid contact email address/);
			expect(
				(
					await fails(target, {
						resource: 'contact',
						operation: 'create',
						inbox: inboxAddress,
						email: 'new@customer.test',
						additionalFields: { owner: 'ghost@company.test' },
					})
				).message,
			).toMatch(/Unknown agent "ghost@company.test"/);
			expect((await fails(target, { resource: 'contact', operation: 'findByEmail', inbox: inboxAddress, email: 'no email' })).message).toMatch(
				/Invalid contact email address/,
			);
			const contact = before.find((c) => c.email === 'Maria@Customer.test')!;
			expect(
				(await fails(target, { resource: 'contact', operation: 'update', contactId: contact.id, updateFields: { name: 'Changed', owner: 'ghost' } })).message,
			).toMatch(/Unknown agent "ghost"/);
			expect((await fails(target, { resource: 'contact', operation: 'get', contactId: 'no-such-id' })).message).toBe('Unknown contact "no-such-id"');
			expect(await store.listContacts()).toEqual(before);
		});
	});

	describe('conversations and tickets', () => {
		let conversationId: string;
		let ticketId: string;

		beforeAll(async () => {
			const inbox = (await store.getInbox(inboxAddress))!;
			const { contact } = await store.findOrCreateContact(inbox.id, { email: 'lee@customer.test', name: 'Lee' });
			const recorded = await store.recordMessage({
				inboxId: inbox.id,
				contactId: contact.id,
				direction: 'in',
				messageId: '<first@customer.test>',
				inReplyTo: [],
				references: [],
				from: 'lee@customer.test',
				to: [inboxAddress],
				cc: [],
				subject: 'Invoice question',
				text: 'Hello',
				html: null,
				size: 120,
				receivedAt: new Date().toISOString(),
				authSummary: 'dmarc=pass',
				originalSenderMethod: 'from-header',
			});
			conversationId = recorded.conversation.id;
			ticketId = (await store.createTicketOnce(conversationId, { name: 'Invoice question' })).ticket.id;
		});

		it('gets (with messages), lists, assigns, closes and reopens a conversation', async () => {
			const [conversation] = await ok(target, { resource: 'conversation', operation: 'get', conversationId, includeMessages: true });
			expect(conversation).toMatchObject({ id: conversationId, status: 'open', subject: 'Invoice question', assigneeId: null });
			expect((conversation.messages as IDataObject[]).map((m) => m.messageId)).toEqual(['first@customer.test']);

			const ben = (await store.getAgent('ben@company.test'))!;
			const [assigned] = await ok(target, {
				resource: 'conversation',
				operation: 'assign',
				conversationId,
				assignee: 'ben@company.test',
				additionalFields: { team: 'Billing', reason: 'billing topic' },
			});
			expect(assigned).toMatchObject({ assigneeId: ben.id, teamId: (await store.getTeam('Billing'))!.id });
			const [withLog] = await ok(target, { resource: 'conversation', operation: 'get', conversationId, includeAssignments: true });
			expect(withLog.assignments).toEqual([expect.objectContaining({ assigneeId: ben.id, rule: 'manual', reason: 'billing topic' })]);

			const mine = await ok(target, { resource: 'conversation', operation: 'getAll', returnAll: true, filters: { assignee: 'ben@company.test', inbox: inboxAddress } });
			expect(mine.map((c) => c.id)).toEqual([conversationId]);

			expect((await ok(target, { resource: 'conversation', operation: 'close', conversationId }))[0].status).toBe('closed');
			expect(await ok(target, { resource: 'conversation', operation: 'getAll', returnAll: true, filters: { status: 'open' } })).toEqual([]);
			expect((await ok(target, { resource: 'conversation', operation: 'reopen', conversationId }))[0].status).toBe('open');

			const [unassigned] = await ok(target, { resource: 'conversation', operation: 'assign', conversationId, assignee: '', additionalFields: {} });
			expect(unassigned).toMatchObject({ assigneeId: null, teamId: null });
		});

		it('refuses an unknown conversation or assignee, changing nothing', async () => {
			const before = await store.getConversation(conversationId);
			const logBefore = await store.listAssignmentLog(conversationId);
			expect((await fails(target, { resource: 'conversation', operation: 'assign', conversationId, assignee: 'ghost@company.test', additionalFields: {} })).message).toMatch(
				/Unknown agent "ghost@company.test"/,
			);
			expect((await fails(target, { resource: 'conversation', operation: 'close', conversationId: 'missing' })).message).toBe('Unknown conversation "missing"');
			expect(await store.getConversation(conversationId)).toEqual(before);
			expect(await store.listAssignmentLog(conversationId)).toEqual(logBefore);
		});

		it('gets, lists, updates and closes a ticket', async () => {
			expect((await ok(target, { resource: 'ticket', operation: 'get', ticketId }))[0]).toMatchObject({ id: ticketId, conversationId, name: 'Invoice question' });
			const [updated] = await ok(target, {
				resource: 'ticket',
				operation: 'update',
				ticketId,
				updateFields: { stage: 'Waiting on contact', priority: 'high', owner: 'ana@company.test', properties: '{"plan": "pro", "seats": 12}' },
			});
			expect(updated).toMatchObject({ stage: 'Waiting on contact', priority: 'high', ownerId: (await store.getAgent('ana@company.test'))!.id, properties: { plan: 'pro', seats: 12 } });
			const waiting = await ok(target, { resource: 'ticket', operation: 'getAll', returnAll: true, filters: { stage: 'Waiting on contact' } });
			expect(waiting.map((t) => t.id)).toEqual([ticketId]);

			const [closed] = await ok(target, { resource: 'ticket', operation: 'close', ticketId });
			expect(closed.closedAt).toEqual(expect.any(String));
			expect(await ok(target, { resource: 'ticket', operation: 'getAll', returnAll: true, filters: { state: 'open' } })).toEqual([]);
		});

		it('refuses an unknown ticket, bad properties or owner, changing nothing', async () => {
			const before = await store.getTicket(ticketId);
			expect((await fails(target, { resource: 'ticket', operation: 'update', ticketId: 'missing', updateFields: { stage: 'X' } })).message).toBe('Unknown ticket "missing"');
			expect((await fails(target, { resource: 'ticket', operation: 'update', ticketId, updateFields: { stage: 'X', properties: '[1]' } })).message).toBe(
				'Properties must be a JSON object',
			);
			expect((await fails(target, { resource: 'ticket', operation: 'update', ticketId, updateFields: { stage: 'X', owner: 'ghost' } })).message).toMatch(/Unknown agent/);
			expect(await store.getTicket(ticketId)).toEqual(before);
		});
	});

	describe('intake log', () => {
		it('lists rejected (and quarantined) messages and forwarding confirmations, newest first', async () => {
			const inbox = (await store.getInbox(inboxAddress))!;
			const entry = { inboxId: inbox.id, clientIp: '192.0.2.1', helo: 'mx.example.test', mailFrom: 'x@spam.test', rcpt: [inboxAddress], messageId: null, from: null, subject: null };
			await store.logIntake({ ...entry, kind: 'rejected', at: '2030-01-01T00:00:01.000Z', details: { reasons: ['dmarc=fail (p=reject)'] } });
			await store.logIntake({ ...entry, kind: 'quarantined', at: '2030-01-01T00:00:02.000Z', details: { reasons: ['spf=softfail'] } });
			await store.logIntake({ ...entry, kind: 'deferred', at: '2030-01-01T00:00:03.000Z', details: { reasons: ['dns timeout'] } });
			await store.logIntake({
				...entry,
				kind: 'forwarding-confirmation',
				at: '2030-01-01T00:00:04.000Z',
				details: { provider: 'gmail', code: '123456789', link: 'https://mail.google.com/mail/vf-x', requester: 'team@company.test' },
			});

			const rejected = await ok(target, { resource: 'intakeLog', operation: 'getRejected', inbox: inboxAddress, returnAll: true });
			expect(rejected.map((e) => e.kind)).toEqual(['quarantined', 'rejected']);
			expect(rejected[1].details).toEqual({ reasons: ['dmarc=fail (p=reject)'] });
			const all = await ok(target, { resource: 'intakeLog', operation: 'getRejected', returnAll: false, limit: 2, kinds: ['rejected', 'quarantined', 'deferred'] });
			expect(all.map((e) => e.kind)).toEqual(['deferred', 'quarantined']);

			const [confirmation] = await ok(target, { resource: 'intakeLog', operation: 'getConfirmations', inbox: inboxAddress, returnAll: true });
			expect(confirmation).toMatchObject({ kind: 'forwarding-confirmation', details: { provider: 'gmail', code: '123456789' } });
		});
	});

	describe('quarantine', () => {
		it('lists held messages with their reasons, gets one, releases it once noting who, and deletes another', async () => {
			const inbox = (await store.getInbox(inboxAddress))!;
			const held = async (subject: string) => {
				const raw = Buffer.from(`From: Quinn <quinn@quarantined.test>\r\nSubject: ${subject}\r\n\r\nis this real?\r\n`);
				const envelope = { clientIp: '192.0.2.9', helo: 'mx.quarantined.test', mailFrom: 'quinn@quarantined.test', rcpt: [inboxAddress] };
				const decision = decisionFor('quinn@quarantined.test', envelope, { action: 'quarantine', reasons: ['dmarc=fail (p=quarantine) for quarantined.test'], flags: ['dmarc-fail'] });
				return await store.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope: decision.envelope, decision, quarantined: true });
			};
			const first = await held('Invoice overdue');
			const second = await held('Gift card');

			const listed = await ok(target, { resource: 'quarantine', operation: 'getAll', inbox: inboxAddress, returnAll: true });
			expect(listed.map((q) => q.id).sort()).toEqual([first.id, second.id].sort());
			expect(listed.find((q) => q.id === first.id)).toMatchObject({ from: 'quinn@quarantined.test', subject: 'Invoice overdue', reasons: ['dmarc=fail (p=quarantine) for quarantined.test'], flags: ['dmarc-fail'] });
			expect(await ok(target, { resource: 'quarantine', operation: 'get', quarantineId: second.id })).toMatchObject([{ id: second.id, subject: 'Gift card' }]);

			const [released] = await ok(target, { resource: 'quarantine', operation: 'release', quarantineId: first.id, releasedBy: 'ana@company.test' });
			expect(released).toMatchObject({ id: first.id, released: { by: 'ana@company.test' } });
			expect((await store.spoolGet(first.id))?.status).toBe('pending');
			expect((await fails(target, { resource: 'quarantine', operation: 'release', quarantineId: first.id })).message).toContain(`No quarantined message with id ${first.id}`);

			expect(await ok(target, { resource: 'quarantine', operation: 'delete', quarantineId: second.id })).toEqual([{ id: second.id, deleted: true }]);
			expect(await store.spoolGet(second.id)).toBeNull();
			expect(await ok(target, { resource: 'quarantine', operation: 'getAll', inbox: inboxAddress, returnAll: true })).toEqual([]);
		});
	});

	describe('failed messages and health', () => {
		it('lists failed messages with From, Subject and the error, re-drives one once, and reports the inbox\'s health', async () => {
			const inbox = await store.registerInbox({ address: 'failing@inbox.example.test' });
			const envelope = { clientIp: '192.0.2.9', helo: 'mx.customer.test', mailFrom: 'ann@customer.test', rcpt: [inbox.address] };
			const raw = Buffer.concat([Buffer.from('From: Ann <ann@customer.test>\r\nSubject: Refund please\r\n\r\n'), Buffer.alloc(100_000, 0x78)]);
			const entry = await store.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope, receivedAt: '2030-01-01T08:00:00.000Z' });
			await store.spoolFail(entry.id, 'Create Ticket: boom', { nextAttemptAt: '2030-01-01T08:00:00.000Z', maxAttempts: 1 });
			const waiting = await store.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope, receivedAt: '2030-01-01T09:00:00.000Z' });
			await store.beatTrigger(inbox.id, { via: 'smtp', event: 'started', intervalMs: 30_000 });
			await store.beatTrigger(inbox.id, { via: 'smtp', event: 'stopped', intervalMs: 30_000 });

			const listed = await ok(target, { resource: 'failedMessage', operation: 'getAll', inbox: inbox.address, returnAll: true });
			expect(listed).toEqual([
				{ id: entry.id, inboxId: inbox.id, status: 'failed', from: 'ann@customer.test', subject: 'Refund please', receivedAt: entry.receivedAt, attempts: 1, nextAttemptAt: '2030-01-01T08:00:00.000Z', lastError: 'Create Ticket: boom' },
			]);
			const [health] = await ok(target, { resource: 'inbox', operation: 'getHealth', inbox: inbox.address });
			expect(health).toMatchObject({
				inbox: { address: inbox.address },
				trigger: { status: 'stopped', via: 'smtp' },
				lastReceivedAt: waiting.receivedAt,
				backlog: { count: 1, oldestReceivedAt: waiting.receivedAt },
				failed: 1,
				quarantined: 0,
			});
			const everyInbox = await ok(target, { resource: 'inbox', operation: 'getHealth' });
			expect(everyInbox.map((h) => (h.inbox as IDataObject).address)).toEqual(expect.arrayContaining([inboxAddress, inbox.address]));

			const [redriven] = await ok(target, { resource: 'failedMessage', operation: 'redrive', failedMessageId: entry.id });
			expect(redriven).toMatchObject({ id: entry.id, status: 'pending', attempts: 0, subject: 'Refund please' });
			expect((await fails(target, { resource: 'failedMessage', operation: 'redrive', failedMessageId: entry.id })).message).toContain(`No failed spool entry with id ${entry.id}`);
			expect(await ok(target, { resource: 'failedMessage', operation: 'getAll', inbox: inbox.address, returnAll: true })).toEqual([]);
			expect(await ok(target, { resource: 'inbox', operation: 'getHealth', inbox: inbox.address })).toMatchObject([{ failed: 0, backlog: { count: 2 } }]);
		});
	});
});

describe('Hosted Inbox node store selection', () => {
	it('refuses the embedded store in queue mode, asking for PostgreSQL', async () => {
		const previous = process.env.EXECUTIONS_MODE;
		process.env.EXECUTIONS_MODE = 'queue';
		try {
			const result = await runNode({ storeParameters: { store: 'embedded' }, credentials: {} }, { resource: 'inbox', operation: 'getAll', returnAll: true });
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/queue mode .*Select the PostgreSQL store/);
		} finally {
			if (previous === undefined) delete process.env.EXECUTIONS_MODE;
			else process.env.EXECUTIONS_MODE = previous;
		}
	});

	it('names host and port when PostgreSQL is down, without hanging', async () => {
		const started = Date.now();
		const result = await runNode(
			{
				storeParameters: { store: 'postgres' },
				credentials: { postgres: { ...postgresCredential(), host: '127.0.0.1', port: 1 } },
				nodeCredentials: { postgres: { id: 'pg', name: 'Down' } },
			},
			{ resource: 'agent', operation: 'getAll', returnAll: true },
		);
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/127\.0\.0\.1:1\b.*unavailable/);
		expect(Date.now() - started).toBeLessThan(15_000);
	});
});
