/**
 * Store engines for every test suite: an isolated store per call (a temp SQLite file, or a fresh PostgreSQL
 * schema), and describeEachStore to run a block once per engine. A missing engine is gated as gates.ts says.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

import { readAll } from '../../core/message-bytes';
import { spooledMessage } from '../../core/spool/spool';
import { embeddedEngineAvailable, openStore, type StoreOptions } from '../../core/store/open';
import { PostgresDriver, quoteIdent } from '../../core/store/postgres';
import type { SpoolStore, Store } from '../../core/store/roles';
import type { SqlDriver } from '../../core/store/sql';
import { openSqliteDriver } from '../../core/store/sqlite';
import { gate, type Gate } from './gates';

export type EngineName = 'sqlite' | 'postgres';

/** A connection of its own to the store of these options, for SQL a test writes itself (an older version's rows, say). */
export function sqlDriverFor(options: StoreOptions): SqlDriver {
	return options.engine === 'sqlite' ? openSqliteDriver(options.path) : new PostgresDriver(options);
}

/** The PostgreSQL the tests use; HOSTED_INBOX_TEST_PG points them at another one. */
export const TEST_PG_URL = process.env.HOSTED_INBOX_TEST_PG || 'postgres://postgres@127.0.0.1:5432/postgres';

let pgProbe: { ok: boolean; reason?: string } | undefined;

/** describe() is synchronous, so reachability is checked once per test file in a short child process. */
function probePostgres(): { ok: boolean; reason?: string } {
	if (pgProbe) return pgProbe;
	const script =
		"const {Client}=require('pg');const c=new Client({connectionString:process.argv[1],connectionTimeoutMillis:3000});" +
		"c.connect().then(()=>c.query('select 1')).then(()=>c.end()).then(()=>process.exit(0),e=>{process.stderr.write(String(e&&e.message||e));process.exit(1)})";
	const result = spawnSync(process.execPath, ['-e', script, TEST_PG_URL], { cwd: join(__dirname, '..', '..'), encoding: 'utf8', timeout: 10_000 });
	const where = TEST_PG_URL.replace(/\/\/[^@/]*@/, '//');
	pgProbe =
		result.status === 0
			? { ok: true }
			: { ok: false, reason: `PostgreSQL not reachable at ${where} (${(result.stderr || result.error?.message || 'no answer').trim()}); set HOSTED_INBOX_TEST_PG or run scripts/services.sh` };
	return pgProbe;
}

export function storeEngines(): Array<{ name: EngineName; available: boolean; skipReason?: string }> {
	const sqlite = embeddedEngineAvailable();
	const pg = probePostgres();
	return [
		{ name: 'sqlite', available: sqlite.ok, ...(sqlite.ok ? {} : { skipReason: sqlite.reason }) },
		{ name: 'postgres', available: pg.ok, ...(pg.ok ? {} : { skipReason: pg.reason }) },
	];
}

export async function freshStore(engine: EngineName): Promise<{ store: Store; options: StoreOptions; cleanup(): Promise<void> }> {
	const suffix = randomBytes(6).toString('hex');
	if (engine === 'sqlite') {
		const dir = mkdtempSync(join(tmpdir(), 'hi-store-'));
		const options: StoreOptions = { engine: 'sqlite', path: join(dir, 'hosted-inbox.sqlite') };
		const store = await openStore(options);
		return {
			store,
			options,
			cleanup: async () => {
				await store.close().catch(() => undefined);
				rmSync(dir, { recursive: true, force: true });
			},
		};
	}
	// A schema per store: far faster than CREATE DATABASE and free of its template-lock conflicts between parallel jest workers.
	const schema = `hi_test_${suffix}`;
	const options: StoreOptions = { engine: 'postgres', connectionString: TEST_PG_URL, schema, maxConnections: 10 };
	const store = await openStore(options);
	return {
		store,
		options,
		cleanup: async () => {
			await store.close().catch(() => undefined);
			await dropSchema(schema);
		},
	};
}

export async function dropSchema(schema: string): Promise<void> {
	const client = new Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 });
	await client.connect();
	try {
		await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
	} finally {
		await client.end();
	}
}

/** A spooled message whole, for a test's equality check (the product streams it). */
export async function spooledRaw(store: SpoolStore, id: string): Promise<Buffer> {
	return await readAll(await spooledMessage(store, id));
}

/** Runs its tests when the engine is there (see gates.ts); node:sqlite alone may be missing in CI, on a Node without it. */
export function engineGate(name: EngineName): Gate {
	const engine = storeEngines().find((e) => e.name === name)!;
	return gate(`the ${name} store`, engine.available ? null : engine.skipReason ?? 'unavailable', { mayBeMissingInCi: name === 'sqlite' });
}

/** The CLI's --store argument for these options (a path, or the PostgreSQL URL with ?schema=). */
export function storeArg(options: StoreOptions): string {
	if (options.engine === 'sqlite') return options.path;
	const url = new URL(options.connectionString ?? TEST_PG_URL);
	if (options.schema) url.searchParams.set('schema', options.schema);
	return url.toString();
}

/** Runs fn once per engine against a fresh store shared by the block's tests (use distinct data per test). */
export const describeEachStore = (title: string, fn: (getStore: () => Store, engine: string, getOptions: () => StoreOptions) => void): void => {
	for (const engine of storeEngines()) {
		const label = `${title} [${engine.name}]`;
		engineGate(engine.name).describe(label, () => {
			let handle: Awaited<ReturnType<typeof freshStore>> | undefined;
			beforeAll(async () => {
				handle = await freshStore(engine.name);
			});
			afterAll(async () => {
				await handle?.cleanup();
			});
			const opened = () => {
				if (!handle) throw new Error(`the ${engine.name} store did not open (see beforeAll)`);
				return handle;
			};
			fn(() => opened().store, engine.name, () => opened().options);
		});
	}
};
