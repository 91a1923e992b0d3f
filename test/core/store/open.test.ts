import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { randomBytes } from 'node:crypto';

import { migrate, MIGRATIONS } from '../../../core/store/migrations';
import { assertEmbeddedAllowed, defaultEmbeddedPath, embeddedEngineAvailable, openStore, parseStoreArg, type StoreOptions } from '../../../core/store/open';
import { StoreUnavailableError } from '../../../core/store/types';
import { InvalidInputError } from '../../../core/errors';
import { describeEachStore, dropSchema, freshStore, sqlDriverFor, TEST_PG_URL } from '../../support/stores';
import { inbound } from './fixtures';

describe('choosing a store', () => {
	it('reads --store as a path or a postgres:// URL', () => {
		expect(parseStoreArg('/var/n8n/hi.sqlite')).toEqual({ engine: 'sqlite', path: '/var/n8n/hi.sqlite' });
		expect(parseStoreArg('postgres://n8n:secret@db.internal:6432/n8n?sslmode=require')).toEqual({
			engine: 'postgres',
			connectionString: 'postgres://n8n:secret@db.internal:6432/n8n?sslmode=require',
		});
		expect(parseStoreArg('postgresql://db/n8n?schema=inbox_eu')).toEqual({ engine: 'postgres', connectionString: 'postgresql://db/n8n', schema: 'inbox_eu' });
		expect(() => parseStoreArg('mysql://db/n8n')).toThrow(/unsupported URL/);
		expect(() => parseStoreArg('  ')).toThrow(InvalidInputError);
	});

	it("keeps the embedded store in n8n's data folder", () => {
		expect(defaultEmbeddedPath('/data')).toBe(join('/data', '.n8n', 'hosted-inbox.sqlite'));
		expect(defaultEmbeddedPath(undefined)).toMatch(/[/\\]\.n8n[/\\]hosted-inbox\.sqlite$/);
	});

	it('refuses the embedded store in queue mode, asking for PostgreSQL', () => {
		expect(() => assertEmbeddedAllowed(true)).toThrow(/queue mode.*PostgreSQL store/);
		const available = embeddedEngineAvailable();
		if (available.ok) expect(() => assertEmbeddedAllowed(false)).not.toThrow();
		else expect(() => assertEmbeddedAllowed(false)).toThrow(/node:sqlite.*PostgreSQL/);
	});

	it('names the PostgreSQL server of a connection string when it is down', async () => {
		await expect(openStore({ engine: 'postgres', connectionString: 'postgres://postgres@127.0.0.1:1/inbox' })).rejects.toThrow(
			/PostgreSQL store at postgres:\/\/127\.0\.0\.1:1\/inbox .*unavailable/,
		);
	});

	it('says which path it cannot open for the embedded store', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'hi-open-'));
		const notADirectory = join(dir, 'file');
		writeFileSync(notADirectory, '');
		const opening = openStore({ engine: 'sqlite', path: join(notADirectory, 'hi.sqlite') });
		await expect(opening).rejects.toBeInstanceOf(StoreUnavailableError);
		await expect(opening).rejects.toThrow(embeddedEngineAvailable().ok ? /Cannot open the embedded store at .*file[/\\]hi\.sqlite/ : /node:sqlite/);
		rmSync(dir, { recursive: true, force: true });
	});
});

describeEachStore('migrations', (getStore, engine) => {
	it('are idempotent: reopening the same store keeps its data and applies nothing twice', async () => {
		const handle = await freshStore(engine as 'sqlite' | 'postgres');
		const inbox = await handle.store.registerInbox({ address: 'again@inbox.example.test' });
		await handle.store.close();
		const reopened = await Promise.all([openStore(handle.options), openStore(handle.options)]);
		expect((await reopened[0].getInbox('again@inbox.example.test'))?.id).toBe(inbox.id);
		await Promise.all(reopened.map((store) => store.close()));
		await handle.cleanup();
		expect(getStore().engine).toBe(engine);
	});

	it('upgrade a version-1 store in place: its messages are kept, a redelivery of one is a replay, a stranger reusing its Message-ID is recorded', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'hi-v1-'));
		const options: StoreOptions =
			engine === 'sqlite' ? { engine: 'sqlite', path: join(dir, 'v1.sqlite') } : { engine: 'postgres', connectionString: TEST_PG_URL, schema: `hi_v1_${randomBytes(6).toString('hex')}` };
		const driver = sqlDriverFor(options);
		const later = MIGRATIONS.splice(1);
		try {
			await migrate(driver, options.engine === 'postgres' ? [`CREATE SCHEMA IF NOT EXISTS ${options.schema}`] : []);
		} finally {
			MIGRATIONS.push(...later);
		}
		const at = new Date().toISOString();
		await driver.run("INSERT INTO inboxes (id, address, address_key, created_at) VALUES ('i1', 'support@inbox.example.test', 'support@inbox.example.test', $1)", [at]);
		await driver.run("INSERT INTO contacts (id, inbox_id, email, email_key, created_at, updated_at) VALUES ('c1', 'i1', 'Ann@customer.example.test', 'ann@customer.example.test', $1, $1)", [at]);
		await driver.run("INSERT INTO conversations (id, inbox_id, contact_id, status, subject, created_at, last_message_at) VALUES ('v1', 'i1', 'c1', 'open', 'Broken', $1, $1)", [at]);
		await driver.run(
			`INSERT INTO messages (id, inbox_id, conversation_id, direction, message_id, in_reply_to, refs, from_address, to_addresses, cc_addresses, subject, text_body, size, received_at, created_at)
			VALUES ('m1', 'i1', 'v1', 'in', 'old@mail.customer.example.test', '[]', '[]', 'Ann@customer.example.test', '[]', '[]', 'Broken', 'The box was crushed.', 100, $1, $1)`,
			[at],
		);
		await driver.close();

		const store = await openStore(options);
		try {
			expect(await store.findMessage('i1', '<old@MAIL.customer.example.test>')).toMatchObject({ id: 'm1', conversationId: 'v1', from: 'Ann@customer.example.test', threadRefused: null });
			const redelivered = await store.recordMessage(inbound('i1', 'c1', { messageId: 'old@mail.customer.example.test', from: 'ann@customer.example.test', contentHash: 'e'.repeat(64) }));
			expect(redelivered).toMatchObject({ outcome: 'duplicate', message: { id: 'm1' } });
			const { contact } = await store.findOrCreateContact('i1', { email: 'mallory@attacker.example.test' });
			const reused = await store.recordMessage(inbound('i1', contact.id, { messageId: 'old@mail.customer.example.test', from: contact.email, inReplyTo: ['old@mail.customer.example.test'] }));
			expect(reused).toMatchObject({ outcome: 'new-conversation', conversation: { contactId: contact.id }, message: { threadRefused: expect.stringContaining('conversation v1') } });
		} finally {
			await store.close();
			if (options.engine === 'postgres') await dropSchema(options.schema!);
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
