/**
 * The small SQL surface both engines offer, so one store implementation (the aggregates composed in sql-store.ts) serves both.
 * Statements use PostgreSQL-style `$1` placeholders; the SQLite driver rewrites them to `?1`.
 */

export type SqlValue = string | number | boolean | null | Buffer;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
	all(sql: string, params?: SqlValue[]): Promise<Row[]>;
	/** Returns the number of rows changed. */
	run(sql: string, params?: SqlValue[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
	readonly engine: 'sqlite' | 'postgres';
	readonly location: string;
	/** Row lock suffix for SELECTs inside a transaction (SQLite's write lock already serializes writers). */
	readonly forUpdate: string;
	/**
	 * The same lock that leaves the row's key alone (PostgreSQL's FOR NO KEY UPDATE): foreign-key checks of rows that
	 * reference it (a message of the agent's, a conversation assigned to it) go on meanwhile, and cannot deadlock with it.
	 */
	readonly forNoKeyUpdate: string;
	/** One write transaction; rolled back when fn throws. */
	transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
	/**
	 * One write committed without waiting for its own flush to disk: it survives a crash of this process, and the
	 * next durable commit (or checkpoint) puts it on disk; a power cut before that may undo it. Only for a write whose
	 * loss is harmless (a completion mark: the entry is emitted again and the replay absorbed).
	 */
	runUnflushed(sql: string, params?: SqlValue[]): Promise<number>;
	/**
	 * After an erasure: leaves no copy of deleted rows in the store's own files (embedded: checkpoints the WAL and
	 * truncates it to nothing; false when another process's open read kept it). PostgreSQL's files are the server's: true.
	 */
	truncateLog(): Promise<boolean>;
	close(): Promise<void>;
}

/** The outcome of an async step as data, so callers clean up and decide outside a catch clause. */
export function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
	return promise.then(
		(value) => ({ ok: true as const, value }),
		(error: unknown) => ({ ok: false as const, error }),
	);
}

/** The synchronous counterpart of settle. */
export function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
	try {
		return { ok: true, value: fn() };
	} catch (error) {
		return { ok: false, error };
	}
}

/** `$from, $from+1, ...` for an IN list or a VALUES row. */
export function placeholders(from: number, count: number): string {
	return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}
