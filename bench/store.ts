/**
 * Store benchmark (npm run bench:store): record-message-and-thread and pick-next-agent throughput, and the
 * process's resident memory, on the embedded engine and on PostgreSQL, with 100 agents and 100,000 contacts
 * loaded, for 1, 4 and 8 concurrent callers. Each engine runs in its own child process so RSS is its own.
 * Floor, in the same run: one bare single-row INSERT committed through the same library (node:sqlite, pg),
 * the least a durable write costs; the ratio says what the store's transaction costs on top.
 * Embedded engine needs node:sqlite: npx -y node@24 -r ./scripts/register-ts.js bench/store.ts
 * Env: BENCH_PG (postgres:// URL, default the test server), BENCH_OPS (operations per measurement, default 1000).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';

import { embeddedEngineAvailable, openStore, type StoreOptions } from '../core/store/open';
import { quoteIdent } from '../core/store/postgres';
import type { Store } from '../core/store/roles';

const PG_URL = process.env.BENCH_PG || process.env.HOSTED_INBOX_TEST_PG || 'postgres://postgres@127.0.0.1:5432/postgres';
const OPS = Number(process.env.BENCH_OPS) || 1000;
const CALLERS = [1, 4, 8];
const CONTACTS = 100_000;
const AGENTS = 100;

type Engine = 'sqlite' | 'postgres';
type Row = { measure: string; callers: number; opsPerSec: number; floorPerSec: number; rssMb: number };

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Runs `total` operations spread over `callers` concurrent loops; returns operations per second. */
async function rate(callers: number, total: number, op: (i: number) => Promise<unknown>): Promise<number> {
	let next = 0;
	const started = process.hrtime.bigint();
	await Promise.all(
		Array.from({ length: callers }, async () => {
			while (next < total) await op(next++);
		}),
	);
	return total / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** The floor: one bare row committed per operation, through the engine's own library. */
async function floor(engine: Engine, path: string | null): Promise<{ insert(i: number): Promise<void>; close(): Promise<void> }> {
	if (engine === 'sqlite') {
		const { DatabaseSync } = (
			process as unknown as { getBuiltinModule(id: string): { DatabaseSync: new (p: string) => { exec(s: string): void; prepare(s: string): { run(...p: unknown[]): unknown }; close(): void } } }
		).getBuiltinModule('node:sqlite');
		const db = new DatabaseSync(`${path}.floor`);
		for (const pragma of ['busy_timeout = 10000', 'journal_mode = WAL', 'synchronous = FULL']) db.exec(`PRAGMA ${pragma}`);
		db.exec('CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY, body TEXT)');
		const insert = db.prepare('INSERT INTO floor (id, body) VALUES (?, ?)');
		return { insert: async (i) => void insert.run(randomUUID(), `body ${i}`), close: async () => db.close() };
	}
	const table = `hi_bench_floor_${randomUUID().slice(0, 8)}`;
	const pool = new Pool({ connectionString: PG_URL, max: 8 });
	await pool.query(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, body TEXT)`);
	return {
		insert: async (i) => void (await pool.query(`INSERT INTO ${table} (id, body) VALUES ($1, $2)`, [randomUUID(), `body ${i}`])),
		close: async () => {
			await pool.query(`DROP TABLE ${table}`);
			await pool.end();
		},
	};
}

async function load(store: Store): Promise<{ inboxId: string; agentIds: string[]; contactEmails: (i: number) => string }> {
	const inbox = await store.registerInbox({ address: 'support@inbox.example.test' });
	const agentIds: string[] = [];
	for (let i = 0; i < AGENTS; i++) {
		agentIds.push((await store.createAgent({ email: `agent${i}@team.example.test`, firstName: `A${i}`, fullName: `Agent ${i}` })).id);
	}
	const contactEmails = (i: number) => `contact${i}@customer.example.test`;
	for (let start = 0; start < CONTACTS; start += 10_000) {
		await store.importContacts(
			inbox.id,
			Array.from({ length: 10_000 }, (_, k) => ({ email: contactEmails(start + k), name: `Contact ${start + k}`, ownerId: agentIds[(start + k) % AGENTS] })),
		);
	}
	return { inboxId: inbox.id, agentIds, contactEmails };
}

async function runEngine(engine: Engine): Promise<Row[]> {
	const dir = mkdtempSync(join(tmpdir(), 'hi-bench-'));
	const schema = `hi_bench_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
	const options: StoreOptions = engine === 'sqlite' ? { engine, path: join(dir, 'hosted-inbox.sqlite') } : { engine, connectionString: PG_URL, schema, maxConnections: 8 };
	const store = await openStore(options);
	const bare = await floor(engine, engine === 'sqlite' ? join(dir, 'floor.sqlite') : null);
	const rows: Row[] = [];
	let peakRss = 0;
	const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
	try {
		const { inboxId, agentIds, contactEmails } = await load(store);
		sample();
		let serial = 0;
		const stored: string[] = [];
		for (const callers of CALLERS) {
			const floorRate = await rate(callers, OPS, bare.insert);
			// Each operation: the original sender's contact (one of 100,000), then the message; every other one replies to an earlier one.
			const recordRate = await rate(callers, OPS, async () => {
				const n = serial++;
				const { contact } = await store.findOrCreateContact(inboxId, { email: contactEmails((n * 7919) % CONTACTS) });
				const parent = n % 2 === 1 && stored.length > 0 ? stored[(n * 31) % stored.length] : null;
				const result = await store.recordMessage({
					inboxId,
					contactId: contact.id,
					direction: 'in',
					messageId: `bench-${n}@customer.example.test`,
					inReplyTo: parent ? [parent] : [],
					references: parent ? [parent] : [],
					from: contact.email,
					to: ['support@inbox.example.test'],
					cc: [],
					subject: `Order ${n}`,
					text: 'Hello, my order has not arrived yet. '.repeat(20),
					html: null,
					size: 2000,
					receivedAt: new Date().toISOString(),
					authSummary: 'dmarc=pass',
					originalSenderMethod: 'from-header',
				});
				stored.push(result.message.messageId);
				sample();
			});
			rows.push({ measure: 'record-message-and-thread', callers, opsPerSec: recordRate, floorPerSec: floorRate, rssMb: mb(peakRss) });
			const candidates = agentIds.slice(0, 20);
			const pickRate = await rate(callers, OPS, async () => {
				await store.pickNextAgent('bench:round-robin', candidates);
				sample();
			});
			rows.push({ measure: 'pick-next-agent', callers, opsPerSec: pickRate, floorPerSec: floorRate, rssMb: mb(peakRss) });
		}
	} finally {
		await bare.close();
		await store.close();
		rmSync(dir, { recursive: true, force: true });
		if (engine === 'postgres') {
			const client = new Client({ connectionString: PG_URL });
			await client.connect();
			await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
			await client.end();
		}
	}
	return rows;
}

/** Parent: one child per engine, then one table. */
async function main(): Promise<void> {
	const engine = process.argv[2] as Engine | undefined;
	if (engine) {
		process.stdout.write(`${JSON.stringify(await runEngine(engine))}\n`);
		return;
	}
	process.stdout.write(`store benchmark: ${AGENTS} agents, ${CONTACTS} contacts, ${OPS} operations per measurement, Node ${process.version}\n`);
	const engines: Engine[] = [];
	const sqlite = embeddedEngineAvailable();
	if (sqlite.ok) engines.push('sqlite');
	else process.stdout.write(`embedded engine skipped: ${sqlite.reason}\n`);
	engines.push('postgres');
	process.stdout.write('engine    measure                    callers   ops/s   floor ops/s   ratio   peak RSS\n');
	for (const name of engines) {
		const child = spawn(process.execPath, [__filename, name], { stdio: ['ignore', 'pipe', 'inherit'] });
		let out = '';
		child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
		const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
		if (code !== 0) {
			process.stdout.write(`${name}: failed (exit ${code})\n`);
			continue;
		}
		for (const row of JSON.parse(out) as Row[]) {
			process.stdout.write(
				`${name.padEnd(9)} ${row.measure.padEnd(26)} ${String(row.callers).padStart(7)} ${row.opsPerSec.toFixed(0).padStart(7)} ${row.floorPerSec.toFixed(0).padStart(13)} ${(row.opsPerSec / row.floorPerSec).toFixed(2).padStart(7)} ${`${row.rssMb} MB`.padStart(10)}\n`,
			);
		}
	}
}

main().catch((error: Error) => {
	process.stderr.write(`bench:store: ${error.message}\n`);
	process.exitCode = 1;
});
