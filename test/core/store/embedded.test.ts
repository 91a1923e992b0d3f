/**
 * The embedded engine across processes: n8n and the CLI writing at once, a reader while a writer holds
 * the database, and a writer killed with SIGKILL mid-loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openStore } from '../../../core/store/open';
import type { Store } from '../../../core/store/roles';
import { withLongestTurn } from '../../support/event-loop';
import { engineGate } from '../../support/stores';
import { spawnChild, waitForLines } from './children/spawn';

const INBOX = 'support@inbox.example.test';

/** PRAGMA integrity_check straight on the file, outside the store. */
function integrity(path: string): string {
	const { DatabaseSync } = (process as unknown as { getBuiltinModule(id: string): { DatabaseSync: new (p: string) => { prepare(sql: string): { get(): Record<string, unknown> }; close(): void } } }).getBuiltinModule(
		'node:sqlite',
	);
	const db = new DatabaseSync(path);
	const result = String(db.prepare('PRAGMA integrity_check').get().integrity_check);
	db.close();
	return result;
}

engineGate('sqlite').describe('embedded store across processes', () => {
	let dir: string;
	let path: string;
	let store: Store;

	beforeEach(async () => {
		dir = mkdtempSync(join(tmpdir(), 'hi-embedded-'));
		path = join(dir, 'hosted-inbox.sqlite');
		store = await openStore({ engine: 'sqlite', path });
	});

	afterEach(async () => {
		await store.close();
		rmSync(dir, { recursive: true, force: true });
	});

	it('keeps every write of two processes writing at once, and routes them evenly', async () => {
		const agents = [];
		for (let i = 0; i < 4; i++) agents.push(await store.createAgent({ email: `agent${i}@team.example.test`, firstName: `A${i}`, fullName: `Agent ${i}` }));
		const writers = ['n8n', 'cli'].map((prefix) => spawnChild('writer.ts', [path, prefix, '200', INBOX]));
		const results = await Promise.all(writers.map((writer) => writer.exited));
		for (const result of results) expect(result).toMatchObject({ code: 0 });
		const inbox = (await store.getInbox(INBOX))!;
		for (const writer of writers) {
			const ids = writer.lines.filter((line) => line.startsWith('ok ')).map((line) => line.slice(3));
			expect(ids).toHaveLength(200);
			for (const id of ids) expect(await store.findMessage(inbox.id, id)).not.toBeNull();
		}
		const conversations = await store.listConversations({ inboxId: inbox.id });
		expect(conversations).toHaveLength(400);
		expect(conversations.every((conversation) => conversation.assigneeId !== null)).toBe(true);
		const counts = await store.countOpenConversations(agents.map((agent) => agent.id));
		for (const agent of agents) expect(Math.abs(counts[agent.id] - 100)).toBeLessThanOrEqual(1);
		expect(await store.listContacts(inbox.id)).toHaveLength(20);
		expect(integrity(path)).toBe('ok');
	});

	it('lets a reader see committed data while a writer holds the database, and the next writer wait its turn', async () => {
		await store.logIntake({ inboxId: null, kind: 'rejected', clientIp: '192.0.2.1', helo: null, mailFrom: null, rcpt: [], messageId: null, from: null, subject: 'before', details: {} });
		const holder = spawnChild('holder.ts', [path, '1500']);
		await waitForLines(holder.lines, 1, 20_000);
		expect(holder.lines[0]).toBe('holding');

		const started = Date.now();
		const seen = await store.listIntake();
		expect(Date.now() - started).toBeLessThan(1000);
		expect(seen.map((entry) => entry.subject)).toEqual(['before']);

		// This write waits for the holder's commit instead of failing or losing anything, and n8n's event loop goes on
		// meanwhile (before, SQLite's busy timeout held it for the whole 1.5 s).
		const { value: written, longestTurnMs } = await withLongestTurn(() =>
			store.logIntake({ inboxId: null, kind: 'deferred', clientIp: null, helo: null, mailFrom: null, rcpt: [], messageId: null, from: null, subject: 'after', details: {} }),
		);
		expect(written.subject).toBe('after');
		expect(longestTurnMs).toBeLessThan(750);
		expect(await holder.exited).toMatchObject({ code: 0 });
		expect((await store.listIntake()).map((entry) => entry.id).sort()).toEqual(['held-row', seen[0].id, written.id].sort());
	});

	it('keeps every write reported committed when the writer is killed with SIGKILL', async () => {
		await store.close();
		const writer = spawnChild('writer.ts', [path, 'crash', '100000', INBOX]);
		await waitForLines(writer.lines, 150, 60_000);
		writer.child.kill('SIGKILL');
		expect((await writer.exited).signal).toBe('SIGKILL');
		const committed = writer.lines.filter((line) => line.startsWith('ok ')).map((line) => line.slice(3));
		expect(committed.length).toBeGreaterThanOrEqual(150);

		store = await openStore({ engine: 'sqlite', path });
		expect(integrity(path)).toBe('ok');
		const inbox = (await store.getInbox(INBOX))!;
		const missing = [];
		for (const id of committed) if (!(await store.findMessage(inbox.id, id))) missing.push(id);
		expect(missing).toEqual([]);
		// The store takes new writes after the crash.
		const { contact } = await store.findOrCreateContact(inbox.id, { email: 'after@customer.example.test' });
		expect(contact.email).toBe('after@customer.example.test');
	});
});
