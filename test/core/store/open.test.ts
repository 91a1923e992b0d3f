import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { assertEmbeddedAllowed, defaultEmbeddedPath, embeddedEngineAvailable, openStore, parseStoreArg } from '../../../core/store/open';
import { StoreInputError, StoreUnavailableError } from '../../../core/store/types';
import { describeEachStore, freshStore } from '../../support/stores';

describe('choosing a store', () => {
	it('reads --store as a path or a postgres:// URL', () => {
		expect(parseStoreArg('/var/n8n/hi.sqlite')).toEqual({ engine: 'sqlite', path: '/var/n8n/hi.sqlite' });
		expect(parseStoreArg('postgres://n8n:secret@db.internal:6432/n8n?sslmode=require')).toEqual({
			engine: 'postgres',
			connectionString: 'postgres://n8n:secret@db.internal:6432/n8n?sslmode=require',
		});
		expect(parseStoreArg('postgresql://db/n8n?schema=inbox_eu')).toEqual({ engine: 'postgres', connectionString: 'postgresql://db/n8n', schema: 'inbox_eu' });
		expect(() => parseStoreArg('mysql://db/n8n')).toThrow(/unsupported URL/);
		expect(() => parseStoreArg('  ')).toThrow(StoreInputError);
	});

	it("keeps the embedded store in n8n's data folder", () => {
		expect(defaultEmbeddedPath({ N8N_USER_FOLDER: '/data' })).toBe(join('/data', '.n8n', 'hosted-inbox.sqlite'));
		expect(defaultEmbeddedPath({ HOME: '/home/ops' })).toMatch(/[/\\]\.n8n[/\\]hosted-inbox\.sqlite$/);
	});

	it('refuses the embedded store in queue mode, asking for PostgreSQL', () => {
		expect(() => assertEmbeddedAllowed({ EXECUTIONS_MODE: 'queue' })).toThrow(/queue mode.*PostgreSQL store/);
		const available = embeddedEngineAvailable();
		if (available.ok) expect(() => assertEmbeddedAllowed({ EXECUTIONS_MODE: 'regular' })).not.toThrow();
		else expect(() => assertEmbeddedAllowed({})).toThrow(/node:sqlite.*PostgreSQL/);
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
});
