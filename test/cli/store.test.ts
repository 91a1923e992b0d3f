import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { bytesOf } from '../../core/message-bytes';
import { runCli as run } from '../support/cli';
import { Client } from 'pg';

import { quoteIdent } from '../../core/store/postgres';
import type { Store } from '../../core/store/roles';
import { describeEachStore, storeArg, TEST_PG_URL } from '../support/stores';
import { REGISTER_TS } from '../core/store/children/spawn';

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'hi-cli-store-'));
function file(name: string, content: unknown): string {
	writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
	return join(dir, name);
}

const seed = {
	inbox: 'support@inbox.example.test',
	agents: [
		{ email: 'maria@team.example.test', firstName: 'Maria', fullName: 'Maria Lopez', availability: 'available', capacity: 10 },
		{ email: 'tom@team.example.test', firstName: 'Tom', fullName: 'Tom Berg', availability: 'away', workingHours: { timeZone: 'Europe/Berlin', days: { '1': { start: '08:00', end: '16:00' } } } },
	],
	teams: [{ name: 'Billing', members: ['maria@team.example.test', 'TOM@team.example.test'] }],
	contacts: [
		{ email: 'ann@customer.example.test', name: 'Ann', owner: 'maria@team.example.test' },
		{ email: 'bob@customer.example.test', name: 'Bob', owner: 'tom@team.example.test' },
	],
};

describe('hosted-inbox store: options', () => {
	it('asks for PostgreSQL on a Node without node:sqlite (Node 20, or a newer Node with it switched off)', () => {
		const off = Number(process.versions.node.split('.')[0]) >= 22 ? ['--no-experimental-sqlite'] : [];
		const cli = spawnSync(process.execPath, [...off, '-r', REGISTER_TS, join(ROOT, 'cli', 'hosted-inbox.ts'), 'store', 'agents', 'list', '--store', join(dir, 'none.sqlite')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
		expect(cli.status).not.toBe(0);
		expect(cli.stderr).toMatch(/node:sqlite .*PostgreSQL/);
	});

	it('exits 2 with one line on a bad subcommand, option or store', async () => {
		for (const args of [['store', 'agents'], ['store', 'robots', 'list'], ['store', 'agents', 'list', '--color'], ['store', 'agents', 'list', '--store', 'mysql://x/y'], ['store', 'seed'],
			['store', 'spool', 'list', '--status', 'lost'], ['store', 'agents', 'list', '--status', 'failed'], ['store', 'spool', 'redrive'], ['store', 'health', 'now']]) {
			const r = await run(args);
			expect(r.code).toBe(2);
			expect(r.stderr.trim().split('\n')).toHaveLength(1);
			expect(r.stdout).toBe('');
		}
	});

	it('exits 1 naming the server when the PostgreSQL store is down', async () => {
		const r = await run(['store', 'agents', 'list', '--store', 'postgres://postgres@127.0.0.1:1/postgres']);
		expect(r.code).toBe(1);
		expect(r.stderr).toMatch(/^hosted-inbox store: PostgreSQL store at postgres:\/\/127\.0\.0\.1:1\/postgres .*unavailable/);
	});
});

describeEachStore('hosted-inbox store', (getStore, _engine, getOptions) => {
	it('seeds agents, teams and contacts with owners, idempotently', async () => {
		const store = storeArg(getOptions());
		const first = await run(['store', 'seed', file('seed.json', seed), '--store', store, '--json']);
		expect(first).toMatchObject({ code: 0, stderr: '' });
		expect(JSON.parse(first.stdout)).toEqual({
			agents: { created: 2, updated: 0, unchanged: 0 },
			teams: { created: 1, updated: 0, unchanged: 0 },
			contacts: { created: 2, updated: 0, unchanged: 0 },
		});
		const agentsBefore = await getStore().listAgents();
		const second = await run(['store', 'seed', file('seed.json', seed), '--store', store]);
		expect(second).toMatchObject({ code: 0, stdout: 'seeded: agents 0 created, 0 updated, 2 unchanged; teams 0 created, 0 updated, 1 unchanged; contacts 0 created, 0 updated, 2 unchanged\n' });
		expect(await getStore().listAgents()).toEqual(agentsBefore);

		const inbox = (await getStore().getInbox(seed.inbox))!;
		const maria = (await getStore().getAgent('maria@team.example.test'))!;
		expect((await getStore().findContactByEmail(inbox.id, 'ANN@customer.example.test'))?.ownerId).toBe(maria.id);
		expect((await getStore().getTeam('billing'))?.memberIds).toHaveLength(2);
		expect((await getStore().listInboxAgents(inbox.id)).map((agent) => agent.email).sort()).toEqual(['maria@team.example.test', 'tom@team.example.test']);
	});

	it('refuses a seed file with a bad email or an unknown owner and writes nothing', async () => {
		const store = storeArg(getOptions());
		const before = await getStore().listContacts();
		const badEmail = await run(['store', 'seed', file('bad.json', { ...seed, contacts: [{ email: 'carol@customer.example.test', owner: 'maria@team.example.test' }, { email: 'not an email' }] }), '--store', store]);
		expect(badEmail.code).toBe(2);
		expect(badEmail.stderr).toMatch(/Invalid contacts\.1 email address: "not an email"/);
		const unknownOwner = await run(['store', 'seed', file('owner.json', { inbox: seed.inbox, contacts: [{ email: 'dan@customer.example.test', owner: 'ghost@team.example.test' }] }), '--store', store]);
		expect(unknownOwner.code).toBe(2);
		expect(unknownOwner.stderr).toMatch(/ghost@team\.example\.test/);
		const notJson = await run(['store', 'seed', file('broken.json', '{"inbox":'), '--store', store]);
		expect(notJson.code).toBe(2);
		expect(await getStore().listContacts()).toEqual(before);
	});

	it('lists records as a table, or as a JSON array with --json', async () => {
		const store = storeArg(getOptions());
		const table = await run(['store', 'contacts', 'list', '--store', store]);
		expect(table.code).toBe(0);
		const lines = table.stdout.trim().split('\n');
		expect(lines[0]).toMatch(/^email\s+name\s+owner\s+inbox$/);
		expect(lines.find((line) => line.startsWith('ann@customer.example.test'))).toMatch(/Ann\s+maria@team\.example\.test\s+support@inbox\.example\.test/);
		const agents = await run(['store', 'agents', 'list', '--store', store, '--json']);
		expect(JSON.parse(agents.stdout).map((agent: { email: string }) => agent.email)).toEqual(['maria@team.example.test', 'tom@team.example.test']);
		for (const kind of ['teams', 'conversations', 'tickets', 'intake', 'inboxes']) {
			const r = await run(['store', kind, 'list', '--store', store, '--json']);
			expect(r.code).toBe(0);
			expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
		}
		expect((await run(['store', 'tickets', 'list', '--store', store])).stdout).toBe('(none)\n');
	});

	it('lists failed spool entries (From and Subject from the message head), re-drives one once, and reports each inbox\'s health', async () => {
		const store = storeArg(getOptions());
		const opened = getStore();
		const inbox = await opened.registerInbox({ address: `health-${Date.now()}@inbox.example.test` });
		const envelope = { clientIp: '192.0.2.1', helo: 'mx.customer.test', mailFrom: 'ann@customer.test', rcpt: [inbox.address] };
		const raw = Buffer.concat([Buffer.from('From: Ann <ann@customer.test>\r\nSubject: Refund please\r\n\r\n'), Buffer.alloc(100_000, 0x78)]);
		const entry = await opened.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope, receivedAt: new Date(Date.now() - 3 * 3600_000).toISOString() });
		await opened.spoolFail(entry.id, 'Code node: boom', { nextAttemptAt: new Date().toISOString(), maxAttempts: 1 });
		await opened.beatTrigger(inbox.id, { via: 'smtp', event: 'started', intervalMs: 30_000 });
		await opened.noteTriggerError(inbox.id, 'Answered 451 (try again later) because of local trouble: disk full');

		const failed = await run(['store', 'spool', 'list', '--status', 'failed', '--store', store, '--json']);
		expect(failed).toMatchObject({ code: 0, stderr: '' });
		expect((JSON.parse(failed.stdout) as Array<{ id: string }>).find((e) => e.id === entry.id)).toEqual({
			id: entry.id,
			inboxId: inbox.id,
			status: 'failed',
			from: 'ann@customer.test',
			subject: 'Refund please',
			receivedAt: entry.receivedAt,
			attempts: 1,
			nextAttemptAt: expect.any(String),
			lastError: 'Code node: boom',
		});
		const table = await run(['store', 'spool', 'list', '--store', store]);
		expect(table.stdout.split('\n')[0]).toMatch(/^id\s+status\s+received\s+attempts\s+from\s+subject\s+last error$/);
		expect(table.stdout).toMatch(new RegExp(`${entry.id}\\s+failed\\s+\\S+\\s+1\\s+ann@customer\\.test\\s+Refund please\\s+Code node: boom`));

		const health = await run(['store', 'health', '--store', store, '--json']);
		expect(health).toMatchObject({ code: 0, stderr: '' });
		expect((JSON.parse(health.stdout) as Array<{ inbox: { id: string } }>).find((h) => h.inbox.id === inbox.id)).toMatchObject({
			trigger: { status: 'running', via: 'smtp' },
			lastReceivedAt: entry.receivedAt,
			backlog: { count: 0 },
			failed: 1,
			quarantined: 0,
			lastError: { message: 'Answered 451 (try again later) because of local trouble: disk full' },
		});
		const healthTable = (await run(['store', 'health', '--store', store])).stdout.split('\n');
		expect(healthTable[0]).toMatch(/^inbox\s+trigger\s+last received\s+backlog\s+oldest waiting\s+failed\s+quarantined\s+last error$/);
		expect(healthTable.find((line) => line.startsWith(inbox.address))).toMatch(/running \(smtp\)\s+3 h ago\s+0\s+-\s+1\s+0\s+\S+ Answered 451/);

		const redriven = await run(['store', 'spool', 'redrive', entry.id, '--store', store]);
		expect(redriven).toMatchObject({ code: 0, stdout: `re-driven ${entry.id}: the trigger of its inbox emits it within seconds\n` });
		expect(await opened.spoolGet(entry.id)).toMatchObject({ status: 'pending', attempts: 0 });
		const again = await run(['store', 'spool', 'redrive', entry.id, '--store', store]);
		expect(again).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining(`No failed spool entry with id ${entry.id}`) });
		const after = JSON.parse((await run(['store', 'health', '--store', store, '--json'])).stdout) as Array<{ inbox: { id: string } }>;
		expect(after.find((h) => h.inbox.id === inbox.id)).toMatchObject({ failed: 0, backlog: { count: 1, oldestAgeSeconds: expect.any(Number) } });
	});
});

/** A person's data in every place the store keeps it: contact, conversation, message, ticket, assignment, intake log, spool. */
async function personEverywhere(store: Store, email: string, name: string): Promise<void> {
	const inbox = await store.registerInbox({ address: 'erasure@inbox.example.test' });
	const agent = await store.createAgent({ email: 'erin@team.example.test', firstName: 'Erin', fullName: 'Erin Agent' });
	const contact = await store.createContact(inbox.id, { email, name });
	const recorded = await store.recordMessage({
		inboxId: inbox.id,
		contactId: contact.id,
		direction: 'in',
		messageId: '<m1@mail.example.test>',
		inReplyTo: [],
		references: [],
		from: email,
		to: [inbox.address],
		cc: [],
		subject: `Refund for ${name}`,
		text: `Regards, ${name}`,
		html: null,
		size: 100,
		receivedAt: new Date().toISOString(),
		authSummary: null,
		originalSenderMethod: null,
	});
	await store.createTicketOnce(recorded.conversation.id, { name: `Refund ${name}`, properties: { email } });
	await store.assignConversation(recorded.conversation.id, { assigneeId: agent.id, teamId: null, rule: 'owner', reason: `contact ${email}` });
	await store.logIntake({ inboxId: inbox.id, kind: 'rejected', clientIp: '192.0.2.9', helo: 'x', mailFrom: email, rcpt: [inbox.address], messageId: null, from: email, subject: `from ${name}`, details: {} });
	const raw = Buffer.from(`From: "${name}" <${email.toUpperCase()}>\r\nSubject: again\r\n\r\n${'padding '.repeat(3000)}${name}\r\n`);
	await store.spoolComplete((await store.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope: { clientIp: null, helo: null, mailFrom: email, rcpt: [inbox.address] } })).id);
	await store.spoolPut({ inboxId: inbox.id, message: bytesOf(raw), envelope: { clientIp: null, helo: null, mailFrom: null, rcpt: [inbox.address] }, quarantined: true });
}

/** Where the engine keeps text that names the person: the embedded store's files as bytes, or every PostgreSQL row. */
async function traces(engine: string, options: ReturnType<Parameters<Parameters<typeof describeEachStore>[1]>[2]>, needles: string[]): Promise<string[]> {
	const found: string[] = [];
	if (options.engine === 'sqlite') {
		for (const path of [options.path, `${options.path}-wal`, `${options.path}-shm`].filter((p) => existsSync(p))) {
			const bytes = readFileSync(path).toString('latin1').toLowerCase();
			for (const needle of needles) if (bytes.includes(needle.toLowerCase())) found.push(`${needle} in ${path}`);
		}
		return found;
	}
	const client = new Client({ connectionString: TEST_PG_URL });
	await client.connect();
	try {
		const tables = await client.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [options.schema]);
		expect(tables.rows.length).toBeGreaterThan(10);
		for (const { table_name: table } of tables.rows) {
			const name = `${quoteIdent(options.schema!)}.${quoteIdent(table)}`;
			for (const needle of needles) {
				// Every column as text (bytea as hex), plus the bytes of every bytea column.
				const bytea = await client.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea'", [options.schema, table]);
				const inBytes = bytea.rows.map((c) => `position(convert_to(lower($1), 'UTF8') in ${quoteIdent(c.column_name)}) > 0 OR position(convert_to(upper($1), 'UTF8') in ${quoteIdent(c.column_name)}) > 0`);
				const where = [`lower(t::text) LIKE '%' || lower($1) || '%'`, ...inBytes].join(' OR ');
				const hits = await client.query(`SELECT count(*)::int AS n FROM ${name} t WHERE ${where}`, [needle]);
				if (hits.rows[0].n > 0) found.push(`${needle} in ${engine} ${table}`);
			}
		}
		return found;
	} finally {
		await client.end();
	}
}

describeEachStore('hosted-inbox store: retention and erasure', (getStore, engine, getOptions) => {
	const email = 'zelda.quist@customer.example.test';
	const name = 'Zelda Erasable-Quist';

	it('contacts erase leaves no byte of the address or the name in the store', async () => {
		await personEverywhere(getStore(), email, name);
		expect(await traces(engine, getOptions(), [email, name])).not.toEqual([]);
		const erased = await run(['store', 'contacts', 'erase', email.toUpperCase(), '--store', storeArg(getOptions()), '--json']);
		expect(erased).toMatchObject({ code: 0, stderr: '' });
		expect(JSON.parse(erased.stdout)).toMatchObject({ contacts: 1, conversations: 1, messages: 1, tickets: 1, assignments: 1, intakeLog: 1, spool: 2, filesClean: true });
		expect(await traces(engine, getOptions(), [email, name])).toEqual([]);
		expect(await getStore().getAgent('erin@team.example.test')).not.toBeNull();
	});

	it('contacts erase: exit 2 with one line for a bad address or a missing one', async () => {
		for (const args of [['store', 'contacts', 'erase', 'not-an-address'], ['store', 'contacts', 'erase'], ['store', 'purge', 'now']]) {
			const r = await run([...args, '--store', storeArg(getOptions())]);
			expect(r.code).toBe(2);
			expect(r.stderr.trim().split('\n')).toHaveLength(1);
		}
	});

	it('purge applies each inbox\'s retention and says what it removed', async () => {
		const inbox = await getStore().registerInbox({ address: 'purged@inbox.example.test', retention: { deliveredRawDays: 1, quarantineDays: 0, intakeLogDays: 0 } });
		const old = new Date(Date.now() - 2 * 86_400_000).toISOString();
		const done = await getStore().spoolPut({ inboxId: inbox.id, message: bytesOf(Buffer.from('x')), envelope: { clientIp: null, helo: null, mailFrom: null, rcpt: [] }, receivedAt: old, spooledAt: old });
		await getStore().spoolComplete(done.id);
		const pending = await getStore().spoolPut({ inboxId: inbox.id, message: bytesOf(Buffer.from('y')), envelope: { clientIp: null, helo: null, mailFrom: null, rcpt: [] }, receivedAt: old, spooledAt: old });
		const r = await run(['store', 'purge', '--store', storeArg(getOptions())]);
		expect(r).toMatchObject({ code: 0, stderr: '' });
		expect(r.stdout).toContain('purged@inbox.example.test: purged 1 delivered, 0 quarantined, 0 intake log (kept: delivered 1 d, quarantine for ever, intake log for ever)');
		expect(await getStore().spoolGet(done.id)).toBeNull();
		expect(await getStore().spoolGet(pending.id)).not.toBeNull();
	});
});
