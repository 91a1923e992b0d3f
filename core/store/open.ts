import { homedir } from 'node:os';
import { join } from 'node:path';

import { migrate } from './migrations';
import { PostgresDriver, quoteIdent, type PostgresConnection } from './postgres';
import { embeddedEngineAvailable, openSqliteDriver } from './sqlite';
import { settle } from './sql';
import { sqlStore } from './sql-store';
import { InvalidInputError } from '../errors';
import type { Store } from './roles';

export { embeddedEngineAvailable } from './sqlite';

export type StoreOptions = { engine: 'sqlite'; path: string } | ({ engine: 'postgres' } & PostgresConnection);

/** Opens the store and brings its schema up to date (safe when several processes open it at once). */
export async function openStore(options: StoreOptions): Promise<Store> {
	if (options.engine === 'sqlite') {
		const driver = openSqliteDriver(options.path);
		const migrated = await settle(migrate(driver));
		if (!migrated.ok) {
			await driver.close();
			throw migrated.error;
		}
		return sqlStore(driver);
	}
	const driver = new PostgresDriver(options);
	// The advisory lock serializes concurrent first starts (main and workers) across the whole server.
	const migrated = await settle(
		migrate(driver, [
			`SELECT pg_advisory_xact_lock(hashtext('hosted-inbox migrations ${driver.schema.replace(/'/g, "''")}'))`,
			`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(driver.schema)}`,
		]),
	);
	if (!migrated.ok) {
		await driver.close();
		throw migrated.error;
	}
	return sqlStore(driver);
}

/** Where the embedded store lives: n8n's data folder (`<n8n user folder>/.n8n`, ~/.n8n by default). */
export function defaultEmbeddedPath(n8nUserFolder: string | undefined): string {
	return join(n8nUserFolder || homedir(), '.n8n', 'hosted-inbox.sqlite');
}

/** `--store`: a postgres:// (or postgresql://) URL, else a filesystem path to the embedded store. `?schema=` picks the PostgreSQL schema. */
export function parseStoreArg(value: string): StoreOptions {
	const arg = String(value ?? '').trim();
	if (arg === '') throw new InvalidInputError('--store needs a file path or a postgres:// URL');
	if (/^postgres(ql)?:\/\//i.test(arg)) {
		if (!URL.canParse(arg)) throw new InvalidInputError(`--store: not a valid PostgreSQL URL: ${arg}`);
		const url = new URL(arg);
		const schema = url.searchParams.get('schema') ?? undefined;
		url.searchParams.delete('schema');
		return { engine: 'postgres', connectionString: url.toString(), ...(schema ? { schema } : {}) };
	}
	if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) throw new InvalidInputError(`--store: unsupported URL ${arg} (use a file path or postgres://...)`);
	return { engine: 'sqlite', path: arg };
}

/**
 * The embedded store serves one n8n process; in queue mode main and workers would each keep their own truth,
 * so the nodes refuse it there.
 */
export function assertEmbeddedAllowed(queueMode: boolean): void {
	if (queueMode) {
		throw new InvalidInputError(
			'n8n runs in queue mode (EXECUTIONS_MODE=queue): the embedded hosted-inbox store would give each worker its own data. ' +
				"Select the PostgreSQL store (Store: PostgreSQL with n8n's Postgres credential), shared by main and workers.",
		);
	}
	const available = embeddedEngineAvailable();
	if (!available.ok) throw new InvalidInputError(available.reason);
}
