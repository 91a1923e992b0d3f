/**
 * PostgreSQL under concurrency (n8n queue mode: main and workers each with their own pool) and when down.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';

import { MIGRATIONS } from '../../../core/store/migrations';
import { openStore, type StoreOptions } from '../../../core/store/open';
import { StoreUnavailableError } from '../../../core/store/types';
import type { Store } from '../../../core/store/roles';
import { freePort } from '../../support/ports';
import { dropSchema, engineGate, TEST_PG_URL } from '../../support/stores';
import { withCollectionsWatched } from '../../support/young-collections';
import { inbound } from './fixtures';


describe('PostgreSQL store that is down', () => {
	it('fails fast with an error naming host and port', async () => {
		const port = await freePort(); // nothing listens on it
		const started = Date.now();
		const opening = openStore({ engine: 'postgres', host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
		await expect(opening).rejects.toBeInstanceOf(StoreUnavailableError);
		await expect(opening).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${port}`));
		expect(Date.now() - started).toBeLessThan(6000);
	});

	it('answers within the connect timeout when the server accepts but never speaks', async () => {
		const silent = createServer(() => undefined);
		await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
		const { port } = silent.address() as { port: number };
		const started = Date.now();
		await expect(openStore({ engine: 'postgres', host: '127.0.0.1', port, user: 'postgres' })).rejects.toThrow(new RegExp(`PostgreSQL store at postgres://127\\.0\\.0\\.1:${port}.*unavailable`));
		expect(Date.now() - started).toBeLessThan(8000);
		silent.close();
	});
});

engineGate('postgres').describe('PostgreSQL concurrency', () => {
	const schema = `hi_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
	const options: StoreOptions = { engine: 'postgres', connectionString: TEST_PG_URL, schema, maxConnections: 1 };
	let callers: Store[] = [];

	afterAll(async () => {
		await Promise.all(callers.map((store) => store.close()));
		await dropSchema(schema);
	});

	it('migrates once when 8 processes start at once', async () => {
		callers = await Promise.all(Array.from({ length: 8 }, () => openStore(options)));
		const { Client } = await import('pg');
		const client = new Client({ connectionString: TEST_PG_URL });
		await client.connect();
		const { rows } = await client.query(`SELECT version FROM "${schema}".schema_migrations`);
		await client.end();
		expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
	});

	it('8 callers recording the same 500 messages store each once, assign each conversation once, 100 per agent', async () => {
		const [first] = callers;
		const inbox = await first.registerInbox({ address: 'support@inbox.example.test' });
		const agents = [];
		for (let i = 0; i < 5; i++) agents.push(await first.createAgent({ email: `agent${i}@team.example.test`, firstName: `A${i}`, fullName: `Agent ${i}` }));
		const agentIds = agents.map((agent) => agent.id);
		const messages = Array.from({ length: 500 }, (_, i) => ({ i, messageId: `<msg-${i}@customer.example.test>` }));

		const outcomes = await Promise.all(
			callers.map(async (store, caller) => {
				const seen: string[] = [];
				// Each caller walks the messages from a different start, so they collide all along the way.
				for (let k = 0; k < messages.length; k++) {
					const { i, messageId } = messages[(k + caller * 61) % messages.length];
					const { contact } = await store.findOrCreateContact(inbox.id, { email: `contact${i % 50}@customer.example.test` });
					const result = await store.recordMessage(inbound(inbox.id, contact.id, { messageId, subject: `message ${i}`, text: `body ${i}`, receivedAt: new Date(1_700_000_000_000 + i * 1000).toISOString() }));
					seen.push(result.outcome);
					if (result.outcome !== 'new-conversation') continue;
					const agentId = await store.pickNextAgent(`inbox:${inbox.id}:round-robin`, agentIds);
					await store.assignConversationIfUnassigned(result.conversation.id, { assigneeId: agentId!, teamId: null, rule: 'round-robin', reason: `caller ${caller}` });
				}
				return seen;
			}),
		);

		const all = outcomes.flat();
		expect(all.filter((outcome) => outcome === 'new-conversation')).toHaveLength(500);
		expect(all.filter((outcome) => outcome === 'duplicate')).toHaveLength(3500);
		const conversations = await first.listConversations({ inboxId: inbox.id });
		expect(conversations).toHaveLength(500);
		for (const { messageId } of messages) expect(await first.findMessage(inbox.id, messageId)).not.toBeNull();
		expect(await first.listContacts(inbox.id)).toHaveLength(50);
		for (const conversation of conversations) {
			expect(conversation.assigneeId).not.toBeNull();
			expect(await first.listAssignmentLog(conversation.id)).toHaveLength(1);
			expect(await first.listMessages(conversation.id)).toHaveLength(1);
		}
		const counts = await first.countOpenConversations(agentIds);
		for (const id of agentIds) expect(Math.abs(counts[id] - 100)).toBeLessThanOrEqual(1);
	}, 300_000); // 4,000 recordings on 8 pools: minutes on a loaded 2-core machine
});

engineGate('postgres').describe('PostgreSQL reads of big mail', () => {
	const schema = `hi_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
	afterAll(() => dropSchema(schema));

	it('counts what reading bytea back leaves behind: a 10 MB message read from the spool forces a young collection every MB, a small one none', async () => {
		await withCollectionsWatched(async (gc) => {
			const { openStore: open } = await import('../../../core/store/open');
			const { bytesOf, readAll } = await import('../../../core/message-bytes');
			const store = await open({ engine: 'postgres', connectionString: TEST_PG_URL, schema });
			try {
				const { id: inboxId } = await store.registerInbox({ address: 'support@inbox.example.test' });
				const envelope = { clientIp: null, helo: null, mailFrom: null, rcpt: [] };
				const big = randomBytes(10 * 1024 * 1024);
				const small = randomBytes(5000);
				const bigEntry = await store.spoolPut({ inboxId, message: bytesOf(big), envelope });
				const smallEntry = await store.spoolPut({ inboxId, message: bytesOf(small), envelope });
				gc.mockClear();
				for (let n = 0; n < 100; n++) expect((await readAll((await store.spoolMessage(smallEntry.id))!)).equals(small)).toBe(true);
				expect(gc).not.toHaveBeenCalled();
				expect((await readAll((await store.spoolMessage(bigEntry.id))!)).equals(big)).toBe(true);
				// 160 chunks of 64 KB, each counted four times over: 40 MB, a collection every 4 MB counted.
				expect(gc.mock.calls.length).toBeGreaterThanOrEqual(10);
				expect(gc.mock.calls.length).toBeLessThanOrEqual(11);
			} finally {
				await store.close();
			}
		});
	}, 60_000);
});
