import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { attempt, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from './sql';
import { StoreUnavailableError } from './types';

/** The part of node:sqlite we use (its types are missing from @types/node 20). */
interface StatementSync {
	all(...params: Array<string | number | null | Uint8Array>): Row[];
	run(...params: Array<string | number | null | Uint8Array>): { changes: number | bigint };
}
interface DatabaseSync {
	exec(sql: string): void;
	prepare(sql: string): StatementSync;
	close(): void;
}
interface SqliteModule {
	DatabaseSync: new (path: string) => DatabaseSync;
}

/** How long a writer waits for another process's write lock before giving up. */
const BUSY_TIMEOUT_MS = 10_000;

function loadSqlite(): SqliteModule | Error {
	// getBuiltinModule (Node >= 22.3, before node:sqlite) bypasses bundlers' and jest's resolvers, which do not know this node:-only builtin.
	const getBuiltin = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
	const mod = getBuiltin?.('node:sqlite') as SqliteModule | undefined;
	return mod?.DatabaseSync ? mod : new Error('node:sqlite is not present');
}

let sqliteModule: SqliteModule | Error | undefined;
function sqlite(): SqliteModule | Error {
	sqliteModule ??= loadSqlite();
	return sqliteModule;
}

export function embeddedEngineAvailable(): { ok: true } | { ok: false; reason: string } {
	const mod = sqlite();
	if (!(mod instanceof Error)) return { ok: true };
	return {
		ok: false,
		reason:
			`The embedded store needs node:sqlite (Node.js >= 22.13); this is Node.js ${process.version}. ` +
			"Upgrade Node.js, or select the PostgreSQL store (Store: PostgreSQL with n8n's Postgres credential, or --store postgres://...).",
	};
}

function toSqlite(value: SqlValue | undefined): string | number | null | Uint8Array {
	if (value === undefined) return null;
	if (typeof value === 'boolean') return value ? 1 : 0;
	return value;
}

/**
 * One connection per file per process, used by one caller at a time: statements of concurrent callers never
 * interleave inside a transaction, and two stores of one process (trigger and action nodes) never wait on each
 * other's write lock (node:sqlite waits synchronously, which would stall the event loop holding the lock).
 */
class SqliteConnection {
	private readonly statements = new Map<string, StatementSync>();
	private queue: Promise<unknown> = Promise.resolve();
	/** Work queued or running: a statement that arrives while there is some joins the open group. */
	private pending = 0;
	private openGroup: GroupedStatement[] | null = null;
	private closed = false;
	users = 0;

	constructor(
		private readonly db: DatabaseSync,
		readonly location: string,
	) {}

	static open(path: string): SqliteConnection {
		const mod = sqlite();
		if (mod instanceof Error) {
			const availability = embeddedEngineAvailable();
			throw new StoreUnavailableError(availability.ok ? mod.message : availability.reason, mod);
		}
		const location = resolve(path);
		const opened = attempt(() => {
			mkdirSync(dirname(location), { recursive: true });
			const db = new mod.DatabaseSync(location);
			db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
			db.exec('PRAGMA journal_mode = WAL');
			// FULL: a commit is on disk before it returns, so a kill -9 (or power loss) right after keeps it.
			db.exec('PRAGMA synchronous = FULL');
			db.exec('PRAGMA foreign_keys = ON');
			// Deleted rows are overwritten with zeros, not just unlinked: an erased person leaves no bytes in free pages.
			db.exec('PRAGMA secure_delete = ON');
			return db;
		});
		if (!opened.ok) throw new StoreUnavailableError(`Cannot open the embedded store at ${location}: ${(opened.error as Error).message}`, opened.error);
		return new SqliteConnection(opened.value, location);
	}

	serialize<T>(fn: () => T | Promise<T>): Promise<T> {
		this.pending++;
		const next = this.queue
			.then(() => {
				if (this.closed) throw new StoreUnavailableError(`The embedded store at ${this.location} is closed`);
				return fn();
			})
			.finally(() => this.pending--);
		this.queue = next.catch(() => undefined);
		return next;
	}

	/**
	 * A statement outside any transaction. On an idle connection it runs at once; statements that arrive while the
	 * connection is busy (ten SMTP sessions spooling at once) wait together and commit in one transaction: one
	 * sync to disk for the group instead of one each (group commit). Each still succeeds or fails on its own.
	 */
	private autocommit<T>(fn: () => T): Promise<T> {
		if (this.pending === 0) return this.serialize(() => this.wrap(fn));
		return new Promise<T>((resolve, reject) => {
			const statement: GroupedStatement = { fn, resolve: resolve as (value: unknown) => void, reject };
			if (this.openGroup) {
				this.openGroup.push(statement);
				return;
			}
			const group = [statement];
			this.openGroup = group;
			void this.serialize(() => {
				this.openGroup = null;
				this.runGroup(group);
			});
		});
	}

	/**
	 * The group in one transaction. If any statement fails, or the commit does, everything is rolled back and each
	 * statement runs again on its own: the outcome of each is exactly what it would have been alone.
	 */
	private runGroup(group: GroupedStatement[]): void {
		const alone = () => {
			for (const statement of group) settle(statement, attempt(() => this.wrap(statement.fn)));
		};
		if (group.length === 1 || !attempt(() => this.db.exec('BEGIN IMMEDIATE')).ok) return alone();
		// Stop at the first failure: an error that rolls the transaction back (disk full) leaves the rest unrun.
		const outcomes: Array<ReturnType<typeof attempt<unknown>>> = [];
		for (const statement of group) {
			const outcome = attempt(() => this.wrap(statement.fn));
			if (!outcome.ok) break;
			outcomes.push(outcome);
		}
		if (outcomes.length === group.length && attempt(() => this.db.exec('COMMIT')).ok) {
			group.forEach((statement, i) => settle(statement, outcomes[i]));
			return;
		}
		attempt(() => this.db.exec('ROLLBACK'));
		alone();
	}

	private statement(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql.replace(/\$(\d+)/g, '?$1'));
			this.statements.set(sql, statement);
		}
		return statement;
	}

	private readonly direct: SqlExecutor = {
		all: async (sql, params = []) => this.wrap(() => this.statement(sql).all(...params.map(toSqlite))),
		run: async (sql, params = []) => this.wrap(() => Number(this.statement(sql).run(...params.map(toSqlite)).changes)),
	};

	private wrap<T>(fn: () => T): T {
		const outcome = attempt(fn);
		if (outcome.ok) return outcome.value;
		if (/database is locked|SQLITE_BUSY/i.test((outcome.error as Error).message ?? '')) {
			throw new StoreUnavailableError(`The embedded store at ${this.location} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000}s`, outcome.error);
		}
		throw outcome.error;
	}

	all(sql: string, params?: SqlValue[]): Promise<Row[]> {
		// A PRAGMA (a WAL checkpoint) must not run inside a transaction.
		if (/^\s*PRAGMA/i.test(sql)) return this.serialize(() => this.direct.all(sql, params));
		return this.autocommit(() => this.statement(sql).all(...(params ?? []).map(toSqlite)));
	}

	run(sql: string, params?: SqlValue[]): Promise<number> {
		return this.autocommit(() => Number(this.statement(sql).run(...(params ?? []).map(toSqlite)).changes));
	}

	transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
		return this.serialize(async () => {
			// IMMEDIATE takes the write lock up front, so two processes never both read then write.
			this.wrap(() => this.db.exec('BEGIN IMMEDIATE'));
			let committed = false;
			try {
				const result = await fn(this.direct);
				this.db.exec('COMMIT');
				committed = true;
				return result;
			} finally {
				if (!committed) this.db.exec('ROLLBACK');
			}
		});
	}

	close(): Promise<void> {
		return this.serialize(() => {
			this.closed = true;
			this.statements.clear();
			this.db.close();
		});
	}
}

interface GroupedStatement {
	fn: () => unknown;
	resolve: (value: unknown) => void;
	reject: (error: unknown) => void;
}

function settle(statement: GroupedStatement, outcome: ReturnType<typeof attempt<unknown>>): void {
	if (outcome.ok) statement.resolve(outcome.value);
	else statement.reject(outcome.error);
}

const connections = new Map<string, SqliteConnection>();

class SqliteDriver implements SqlDriver {
	readonly engine = 'sqlite' as const;
	readonly forUpdate = '';
	readonly location: string;
	private closed = false;

	constructor(private readonly connection: SqliteConnection) {
		this.location = connection.location;
	}

	private check(): void {
		if (this.closed) throw new StoreUnavailableError(`The embedded store at ${this.location} is closed`);
	}

	all(sql: string, params?: SqlValue[]): Promise<Row[]> {
		this.check();
		return this.connection.all(sql, params);
	}

	run(sql: string, params?: SqlValue[]): Promise<number> {
		this.check();
		return this.connection.run(sql, params);
	}

	transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
		this.check();
		return this.connection.transaction(fn);
	}

	async truncateLog(): Promise<boolean> {
		this.check();
		// TRUNCATE copies every WAL frame into the database file and empties the WAL, so old page images go too.
		const [result] = await this.connection.all('PRAGMA wal_checkpoint(TRUNCATE)');
		return Number(result?.busy) === 0;
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		if (--this.connection.users > 0) return;
		connections.delete(this.connection.location);
		await this.connection.close();
	}
}

/** A handle on the process's connection to the file at path (opened on first use, closed with its last handle). */
export function openSqliteDriver(path: string): SqlDriver {
	const location = resolve(path);
	let connection = connections.get(location);
	if (!connection) {
		connection = SqliteConnection.open(location);
		connections.set(location, connection);
	}
	connection.users++;
	return new SqliteDriver(connection);
}
