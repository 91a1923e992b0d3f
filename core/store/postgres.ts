import { Pool, type PoolClient, type PoolConfig } from 'pg';

import type { Row, SqlDriver, SqlExecutor, SqlValue } from './sql';
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

export function quoteIdent(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

export class PostgresDriver implements SqlDriver {
	readonly engine = 'postgres' as const;
	readonly forUpdate = ' FOR UPDATE';
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
		const options = this.pool.options as PoolConfig;
		this.location = `postgres://${options.host ?? 'localhost'}:${options.port ?? 5432}/${options.database ?? options.user ?? 'postgres'} (schema ${this.schema})`;
	}

	private unavailable(error: unknown): Error {
		const code = (error as { code?: string }).code;
		const message = (error as Error).message ?? String(error);
		if ((code && UNREACHABLE.has(code)) || /timeout|Connection terminated|connect ECONN/i.test(message)) {
			return new StoreUnavailableError(`PostgreSQL store at ${this.location} is unavailable: ${message}`, error);
		}
		return error as Error;
	}

	private async connect(): Promise<PoolClient> {
		try {
			return await this.pool.connect();
		} catch (error) {
			throw this.unavailable(error);
		}
	}

	private static executor(client: PoolClient): SqlExecutor {
		return {
			all: async (sql, params = []) => (await client.query(sql, params)).rows as Row[],
			run: async (sql, params = []) => (await client.query(sql, params)).rowCount ?? 0,
		};
	}

	async all(sql: string, params: SqlValue[] = []): Promise<Row[]> {
		try {
			return (await this.pool.query(sql, params)).rows as Row[];
		} catch (error) {
			throw this.unavailable(error);
		}
	}

	async run(sql: string, params: SqlValue[] = []): Promise<number> {
		try {
			return (await this.pool.query(sql, params)).rowCount ?? 0;
		} catch (error) {
			throw this.unavailable(error);
		}
	}

	async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
		for (let attempt = 1; ; attempt++) {
			const client = await this.connect();
			let broken = false;
			try {
				await client.query('BEGIN');
				const result = await fn(PostgresDriver.executor(client));
				await client.query('COMMIT');
				return result;
			} catch (error) {
				await client.query('ROLLBACK').catch(() => {
					broken = true;
				});
				const code = (error as { code?: string }).code;
				if (!(code && RETRYABLE.has(code) && attempt < 5)) throw this.unavailable(error);
			} finally {
				client.release(broken);
			}
		}
	}

	async close(): Promise<void> {
		await this.pool.end();
	}
}
