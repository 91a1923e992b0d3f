import { Pool, type PoolClient, type PoolConfig } from 'pg';

import { noteBytesRead } from '../garbage';
import { settle, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from './sql';
import { StoreUnavailableError } from './types';

export interface PostgresConnection {
	connectionString?: string;
	host?: string;
	port?: number;
	database?: string;
	user?: string;
	password?: string;
	ssl?: boolean | { rejectUnauthorized: boolean };
	/** PostgreSQL schema holding the store's tables (created on first use), so n8n's own database can host it. */
	schema?: string;
	/** Pool size per process. */
	maxConnections?: number;
}

export const DEFAULT_SCHEMA = 'hosted_inbox';
/** A down or unreachable server is reported within this time instead of hanging. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Deadlocks and serialization failures are retried: the whole transaction rolled back, so a rerun is safe. */
const RETRYABLE = new Set(['40001', '40P01']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', '57P01', '57P03', '3D000', '28P01', '28000']);

/**
 * What reading a bytea value leaves behind besides the value, in multiples of its size: PostgreSQL sends it as hex
 * text, two bytes a byte, held in the connection's buffers and again as a string until the query ends.
 */
const BYTEA_GARBAGE = 4;

/**
 * A query's rows, its bytea values counted as read once it ended (garbage.ts; a value under 64 KB is not), so big
 * mail read back from the spool is collected as it goes. Uncounted, one 30 MB message emitted from the spool grew the
 * process by 1.7x to 1.9x its size (bench:smtp on PostgreSQL); counted, with 256 KB queries, 1.0x to 1.4x. Counted
 * as each value was decoded, while the query's own rows and text still lived, 1.3x.
 */
function rowsRead(rows: Row[]): Row[] {
	for (const row of rows) for (const value of Object.values(row)) if (Buffer.isBuffer(value)) noteBytesRead(BYTEA_GARBAGE * value.length, value.length);
	return rows;
}

export function quoteIdent(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

/** host:port/database for messages, never the password. */
function describeServer(connection: PostgresConnection): string {
	const url = connection.connectionString && URL.canParse(connection.connectionString) ? new URL(connection.connectionString) : null;
	const host = connection.host ?? (url?.hostname || process.env.PGHOST || 'localhost');
	const port = connection.port ?? (Number(url?.port) || Number(process.env.PGPORT) || 5432);
	const database = connection.database ?? (url?.pathname.slice(1) || process.env.PGDATABASE || connection.user || 'postgres');
	return `postgres://${host}:${port}/${decodeURIComponent(database)}`;
}

export class PostgresDriver implements SqlDriver {
	readonly engine = 'postgres' as const;
	readonly forUpdate = ' FOR UPDATE';
	readonly forNoKeyUpdate = ' FOR NO KEY UPDATE';
	readonly location: string;
	readonly schema: string;
	private readonly pool: Pool;

	constructor(connection: PostgresConnection) {
		this.schema = connection.schema ?? DEFAULT_SCHEMA;
		const config: PoolConfig = {
			connectionString: connection.connectionString,
			host: connection.host,
			port: connection.port,
			database: connection.database,
			user: connection.user,
			password: connection.password,
			ssl: connection.ssl,
			max: connection.maxConnections ?? 10,
			connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
			options: `-c search_path=${quoteIdent(this.schema)}`,
		};
		this.pool = new Pool(config);
		// An idle connection dropped by the server must not crash n8n; the next query reports the outage.
		this.pool.on('error', () => undefined);
		this.location = `${describeServer(connection)} (schema ${this.schema})`;
	}

	private unavailable(error: unknown): Error {
		const code = (error as { code?: string }).code;
		const message = (error as Error).message ?? String(error);
		if ((code && UNREACHABLE.has(code)) || /timeout|Connection terminated|connect ECONN/i.test(message)) {
			return new StoreUnavailableError(`PostgreSQL store at ${this.location} is unavailable: ${message}`, error);
		}
		return error as Error;
	}

	private connect(): Promise<PoolClient> {
		return this.pool.connect().catch((error: unknown) => Promise.reject(this.unavailable(error)));
	}

	private static executor(client: PoolClient): SqlExecutor {
		return {
			all: async (sql, params = []) => rowsRead((await client.query(sql, params)).rows as Row[]),
			run: async (sql, params = []) => (await client.query(sql, params)).rowCount ?? 0,
		};
	}

	all(sql: string, params: SqlValue[] = []): Promise<Row[]> {
		return this.pool.query(sql, params).then(
			(result) => rowsRead(result.rows as Row[]),
			(error: unknown) => Promise.reject(this.unavailable(error)),
		);
	}

	run(sql: string, params: SqlValue[] = []): Promise<number> {
		return this.pool.query(sql, params).then(
			(result) => result.rowCount ?? 0,
			(error: unknown) => Promise.reject(this.unavailable(error)),
		);
	}

	async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
		for (let attempt = 1; ; attempt++) {
			const client = await this.connect();
			const outcome = await settle(
				(async () => {
					await client.query('BEGIN');
					const result = await fn(PostgresDriver.executor(client));
					await client.query('COMMIT');
					return result;
				})(),
			);
			// A connection whose ROLLBACK fails is broken: release(true) discards it instead of pooling it.
			const rolledBack = outcome.ok || (await settle(client.query('ROLLBACK'))).ok;
			client.release(!rolledBack);
			if (outcome.ok) return outcome.value;
			const code = (outcome.error as { code?: string }).code;
			if (!(code && RETRYABLE.has(code) && attempt < 5)) throw this.unavailable(outcome.error);
		}
	}

	runUnflushed(sql: string, params: SqlValue[] = []): Promise<number> {
		// synchronous_commit = off: the commit returns before its WAL is flushed; the server's next flush carries it.
		return this.transaction(async (tx) => {
			await tx.run('SET LOCAL synchronous_commit = off');
			return tx.run(sql, params);
		});
	}

	async truncateLog(): Promise<boolean> {
		return true;
	}

	async close(): Promise<void> {
		await this.pool.end();
	}
}
