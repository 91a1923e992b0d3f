/**
 * Crash test of the "nothing lost, nothing twice" contract: a child process runs the trigger and the real pipeline
 * nodes in n8n-core; 200 messages are sent by a client that, as a real MTA, resends whatever got no reply or a 4xx;
 * the child is SIGKILLed at random points (and once right after a spool write, before its 250) and restarted.
 * At the end every message is exactly one conversation with exactly one ticket. Once per store engine: the embedded
 * store (SQLite in n8n's data folder, Node >= 22.13) and PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';

import { defaultEmbeddedPath, openStore, type StoreOptions } from '../../../core/store/open';
import type { Store } from '../../../core/store/roles';
import { freePort } from '../../support/ports';
import { dropSchema, engineGate, storeEngines, TEST_PG_URL, type EngineName } from '../../support/stores';
import { REGISTER_TS } from '../store/children/spawn';

const ROOT = join(__dirname, '..', '..', '..');
const MESSAGES = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Child {
	process: ChildProcess;
	ready: Promise<void>;
	exited: Promise<void>;
	output: string[];
}

function startChild(port: number, engine: EngineName, schema: string, dir: string, dieAfterSpoolWrites?: number): Child {
	const zone = join(dir, 'empty-zone.json');
	writeFileSync(zone, '{}');
	const child = spawn(
		process.execPath,
		[REGISTER_TS, join(__dirname, 'children/crash-inbox.ts'), String(port), engine, schema, ...(dieAfterSpoolWrites ? [String(dieAfterSpoolWrites)] : [])],
		{ cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOSTED_INBOX_DNS_ZONE: zone, N8N_USER_FOLDER: dir, HOSTED_INBOX_TEST_PG: TEST_PG_URL } },
	);
	const output: string[] = [];
	const ready = new Promise<void>((resolve, reject) => {
		child.stdout!.on('data', (data: Buffer) => {
			output.push(data.toString());
			if (data.toString().includes('ready')) resolve();
		});
		child.stderr!.on('data', (data: Buffer) => output.push(data.toString()));
		child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before it was ready: ${output.join('')}`)));
	});
	ready.catch(() => undefined);
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	return { process: child, ready, exited, output };
}

function message(i: number): { from: string; to: string; subject: string; text: string; messageId: string } {
	return { from: `customer${i}@crash.example`, to: 'support@inbox.example.test', subject: `crash test ${i}`, text: `message ${i}`, messageId: `<crash-${i}@crash.example>` };
}

for (const { name: engine } of storeEngines()) engineGate(engine).describe(`SMTP trigger crash test (SIGKILL + restart) [${engine}]`, () => {
	const schema = `hi_crash_${randomBytes(5).toString('hex')}`;
	const dir = mkdtempSync(join(tmpdir(), 'hi-crash-'));
	// The child's store: the embedded one in its n8n data folder, or a schema of the test's PostgreSQL.
	const storeOptions: StoreOptions =
		engine === 'sqlite' ? { engine: 'sqlite', path: defaultEmbeddedPath(dir) } : { engine: 'postgres', connectionString: TEST_PG_URL, schema };
	let child: Child | undefined;
	let store: Store | undefined;

	afterAll(async () => {
		child?.process.kill('SIGKILL');
		await store?.close();
		if (engine === 'postgres') await dropSchema(schema);
		rmSync(dir, { recursive: true, force: true });
	});

	test('every message ends as exactly one conversation with exactly one ticket', async () => {
		const port = await freePort();
		child = startChild(port, engine, schema, dir);
		await child.ready;

		const acknowledged = new Set<number>();
		const refusals: string[] = [];
		let next = 0;
		let retries = 0;
		const deadline = Date.now() + 480_000; // a bound, not a target: about 2 min on an idle machine, far more on a loaded one
		const sender = async () => {
			const transport = () => createTransport({ host: '127.0.0.1', port, ignoreTLS: true, connectionTimeout: 3000, greetingTimeout: 3000, socketTimeout: 15_000 });
			while (next < MESSAGES && Date.now() < deadline) {
				const i = next++;
				for (;;) {
					try {
						await transport().sendMail(message(i));
						acknowledged.add(i);
						break;
					} catch (error) {
						const code = (error as { responseCode?: number }).responseCode;
						if (code && code >= 500) {
							refusals.push(`${i}: ${(error as Error).message}`);
							break;
						}
						// No reply or a 4xx: resend later, as an MTA's queue does.
						retries++;
						if (Date.now() > deadline) return;
						await sleep(250);
					}
				}
			}
		};
		let sending = true;
		const senders = Promise.all(Array.from({ length: 6 }, () => sender())).finally(() => (sending = false));

		// Kill at random points while mail is in flight; once right after a spool write, before the 250 went out.
		// A kill planned after sending ended is not made: the test ends by itself, and asserts kills did land.
		const plan = [undefined, 3, undefined, undefined];
		let kills = 0;
		for (const dieAfter of plan) {
			if (!sending) break;
			if (dieAfter) {
				child.process.kill('SIGKILL');
				await child.exited;
				child = startChild(port, engine, schema, dir, dieAfter);
				// It dies by itself after its third spool write; if sending ends first, it is killed here.
				await Promise.race([child.exited, senders]);
				if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
				await child.exited;
			} else {
				await Promise.race([sleep(500 + Math.floor(Math.random() * 2500)), senders]);
				if (!sending) break;
				child.process.kill('SIGKILL');
				await child.exited;
			}
			kills++;
			child = startChild(port, engine, schema, dir);
			await child.ready;
		}
		await senders;
		expect(kills).toBeGreaterThan(0);
		// At least one kill cut a delivery under way: the client had to resend.
		expect(retries).toBeGreaterThan(0);
		expect(refusals).toEqual([]);
		expect(acknowledged.size).toBe(MESSAGES);

		store = await openStore(storeOptions);
		const inbox = (await store.getInbox('support@inbox.example.test'))!;
		// Emitted at least once: wait until the spool has nothing pending and every message is recorded.
		let conversations = await store.listConversations({ inboxId: inbox.id });
		for (let i = 0; i < 120; i++) {
			const pending = await store.spoolList({ inboxId: inbox.id, status: 'pending' });
			conversations = await store.listConversations({ inboxId: inbox.id });
			if (!pending.length && conversations.length >= MESSAGES) break;
			await sleep(500);
		}
		// Counted first and printed (the figures the durability claim rests on), then asserted.
		let lost = 0;
		let extraMessages = 0;
		const wrongTickets: number[] = [];
		for (let i = 0; i < MESSAGES; i++) {
			const stored = await store.findMessage(inbox.id, `crash-${i}@crash.example`);
			if (!stored) {
				lost++;
				continue;
			}
			extraMessages += (await store.listMessages(stored.conversationId)).length - 1;
			const ticket = await store.getTicketForConversation(stored.conversationId);
			if (ticket?.name !== `crash test ${i}`) wrongTickets.push(i);
		}
		// A message stored twice is an extra conversation or an extra message in its conversation.
		const duplicated = conversations.length - (MESSAGES - lost) + extraMessages;
		const tickets = (await store.listTickets()).filter((t) => conversations.some((c) => c.id === t.conversationId));
		const spooled = await store.spoolList({ inboxId: inbox.id });
		process.stdout.write(
			`crash test [${engine}]: ${MESSAGES} messages, ${kills} kills, ${lost} lost, ${duplicated} duplicated, ` +
				`${spooled.length} spool entries (${spooled.length - MESSAGES} resent after a crash), ${retries} client retries\n`,
		);
		expect(await store.spoolList({ inboxId: inbox.id, status: 'failed' })).toEqual([]);
		expect(conversations).toHaveLength(MESSAGES);
		expect({ lost, duplicated, wrongTickets }).toEqual({ lost: 0, duplicated: 0, wrongTickets: [] });
		expect(tickets).toHaveLength(MESSAGES);
	}, 600_000);
});
