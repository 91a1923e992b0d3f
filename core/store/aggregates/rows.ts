/** Reading rows and their columns the same way on both engines. */
import type { Row, SqlExecutor, SqlValue } from '../sql';

/** The first row the statement returns, or null. */
export async function one(q: SqlExecutor, sql: string, params: SqlValue[]): Promise<Row | null> {
	return (await q.all(sql, params))[0] ?? null;
}

export const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/** A JSON column, or the fallback when it is NULL. */
export const json = <T>(value: unknown, fallback: T): T => (value === null || value === undefined ? fallback : (JSON.parse(String(value)) as T));

/** A BLOB (SQLite) or bytea (PostgreSQL) column as a Buffer. */
export const bytes = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array));

export function unique<T>(values: T[]): T[] {
	return [...new Set(values)];
}
