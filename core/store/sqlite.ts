import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { Checkpointer } from './sqlite-checkpointer';
import { attempt, settle, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from './sql';
import { StoreUnavailableError } from './types';
import { WRITES_ON_THE_WAY } from './writes-on-the-way';

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

/**
 * How long SQLite itself waits for a lock once the store is open, blocking the thread: the rest of a wait for another
 * process (the CLI) is spent off the event loop (whenUnlocked), LOCK_RETRY_MAX_MS apart at most, so n8n's workflows
 * and webhooks go on meanwhile.
 */
const LOCK_STEP_MS = 5;
const LOCK_RETRY_MAX_MS = 50;

/** A TRUNCATE checkpoint (erasure) that finds the file busy is tried again this far apart, for BUSY_TIMEOUT_MS. */
const TRUNCATE_RETRY_MS = 100;

/** SQLite's own automatic checkpoint (in pages of WAL), where its checkpoints are not ours (sqlite-checkpointer.ts). */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/** The most transactions one commit (one fsync) carries: bounds how long the first of a group waits for the others. */
const GROUP_LIMIT = 64;

/**
 * While messages are on their way to the spool, a group waits for them until it holds this many transactions (a
 * message's spool entry and its completion mark are one each), for about GROUP_WAIT_MS at most (timers fire to the
 * millisecond): the latency a message's 250 may gain. bench:smtp's server, 3,000 messages: 933 commits and 757
 * flushes against 1,421 and 1,118 without the wait, 5% less CPU a message (median of 14 pairs).
 */
const GROUP_GATHER = 10;
const GROUP_WAIT_MS = 2;

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

/** Files whose flush failed: they stay stopped in this process, through a close and a new open, until it restarts. */
const failedFlushes = new Map<string, Error>();

/** A caller's transaction waiting for the commit of its group. */
interface Member {
	fn: (tx: SqlExecutor) => Promise<unknown>;
	/** Whether its commit must be on disk before it resolves (else a later commit's fsync may carry it). */
	durable: boolean;
	resolve(value: unknown): void;
	reject(error: unknown): void;
}

/**
 * One connection per file per process, used by one caller at a time: statements of concurrent callers never
 * interleave inside a transaction, and two stores of one process (trigger and action nodes) never wait on each
 * other's write lock (node:sqlite waits synchronously, which would stall the event loop holding the lock).
 *
 * Group commit: the transactions waiting for the connection run together in one BEGIN IMMEDIATE ... COMMIT, each in
 * a savepoint of its own, so one fsync makes them all durable. A caller that fails rolls back only its own writes;
 * every caller settles only after the shared COMMIT returned and the group's flush (and every earlier one) ended, and
 * a failed COMMIT rejects them all. The next group runs while a flush is under way. Readers outside a transaction in
 * this process wait for every flush asked for; another process reading the file (the CLI) may see rows a moment before.
 */
class SqliteConnection {
	private readonly statements = new Map<string, StatementSync>();
	private queue: Promise<unknown>;
	/** The group queued last and not yet begun: a transaction joins it rather than queue a commit of its own. */
	private forming: Member[] | null = null;
	/** Ends the forming group's wait for joiners (gather). */
	private gathering: AbortController | null = null;
	/** null: the folder cannot be flushed (a platform without it), so SQLite keeps flushing the WAL itself. */
	private wal: FileHandle | null | undefined;
	private closed = false;
	/** The thread that copies the WAL into the database file, off the event loop. */
	private readonly checkpointer: Checkpointer;
	/** Settles once every flush asked for so far has succeeded; rejects once one failed. */
	private flushes: Promise<void> = Promise.resolve();
	/** The flush that begins when the one under way ends, shared by every group committed until then. */
	private nextFlush: Promise<void> | null = null;
	/**
	 * Set when a flush of the WAL failed: what was committed before it may not be on disk, and SQLite, not having
	 * flushed it itself, keeps it visible and builds on it. As PostgreSQL does on a failed fsync, the store then stops
	 * (every call refused) until the disk is checked and the process restarted: nothing is answered on top of it, not
	 * even by a connection opened on the file again (a workflow activated again) in the same process.
	 */
	private get failedFlush(): Error | undefined {
		return failedFlushes.get(this.location);
	}
	users = 0;

	/** @param after a close of the file's previous connection still under way: this one begins once it ended. */
	constructor(
		private readonly db: DatabaseSync,
		readonly location: string,
		after: Promise<void> = Promise.resolve(),
	) {
		this.queue = after;
		// SQLite checkpoints in the commits that fill its WAL until the worker runs, and again if it stops.
		const automaticCheckpoints = (pages: number) => {
			if (!this.closed) db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
		};
		this.checkpointer = new Checkpointer(location, {
			onReady: () => automaticCheckpoints(0),
			onGone: () => automaticCheckpoints(SQLITE_AUTOCHECKPOINT_PAGES),
		});
	}

	static open(path: string, after?: Promise<void>): SqliteConnection {
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
			// The commits flushed off the event loop (commit) rely on WAL; a file system that refuses it is not used.
			const [{ journal_mode: mode }] = db.prepare('PRAGMA journal_mode = WAL').all();
			if (String(mode).toLowerCase() !== 'wal') {
				db.close();
				throw new Error(`its file system refused SQLite's WAL mode (journal_mode stayed ${String(mode)}); put it on a local disk, or use PostgreSQL`);
			}
			// FULL: a commit is on disk before it returns, so a kill -9 (or power loss) right after keeps it.
			db.exec('PRAGMA synchronous = FULL');
			db.exec('PRAGMA foreign_keys = ON');
			// Deleted rows are overwritten with zeros, not just unlinked: an erased person leaves no bytes in free pages.
			db.exec('PRAGMA secure_delete = ON');
			return db;
		});
		if (!opened.ok) throw new StoreUnavailableError(`Cannot open the embedded store at ${location}: ${(opened.error as Error).message}`, opened.error);
		// Opened (its mode set, waiting as long as it takes): from here on a lock is waited for off the event loop.
		opened.value.exec(`PRAGMA busy_timeout = ${LOCK_STEP_MS}`);
		return new SqliteConnection(opened.value, location, after);
	}

	/** fn after everything queued before it; refused once closed, and once stopped by a failed flush unless it is the close. */
	serialize<T>(fn: () => T | Promise<T>, closing = false): Promise<T> {
		// Whatever is queued after a group runs after it: a later transaction starts a group of its own, and the group
		// stops waiting for joiners it can no longer take.
		this.forming = null;
		this.gathering?.abort();
		const next = this.queue.then(() => {
			if (this.closed) throw new StoreUnavailableError(`The embedded store at ${this.location} is closed`);
			if (this.failedFlush && !closing) throw this.stoppedByFailedFlush(this.failedFlush);
			return fn();
		});
		this.queue = next.catch(() => undefined);
		return next;
	}

	private statement(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql.replace(/\$(\d+)/g, '?$1'));
			this.statements.set(sql, statement);
		}
		return statement;
	}

	private rows(sql: string, params: SqlValue[] = []): Row[] {
		return this.statement(sql).all(...params.map(toSqlite));
	}

	private changes(sql: string, params: SqlValue[] = []): number {
		return Number(this.statement(sql).run(...params.map(toSqlite)).changes);
	}

	/** Statements inside a transaction, whose write lock is held already. */
	private readonly direct: SqlExecutor = {
		all: async (sql, params) => this.wrap(() => this.rows(sql, params)),
		run: async (sql, params) => this.wrap(() => this.changes(sql, params)),
	};

	private wrap<T>(fn: () => T): T {
		const outcome = attempt(fn);
		if (outcome.ok) return outcome.value;
		throw this.failure(outcome.error);
	}

	/** A lock another process kept past every wait, told as the store being unavailable; any other error as it is. */
	private failure(error: unknown): unknown {
		if (!isLocked(error)) return error;
		return new StoreUnavailableError(`The embedded store at ${this.location} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000}s`, error);
	}

	/**
	 * fn, tried again while another process holds the lock it needs, for BUSY_TIMEOUT_MS in all: each try blocks the
	 * event loop for LOCK_STEP_MS at most, and the pauses between them do not block it.
	 */
	private async whenUnlocked<T>(fn: () => T): Promise<T> {
		const deadline = performance.now() + BUSY_TIMEOUT_MS;
		for (let pause = 1; ; pause = Math.min(pause * 2, LOCK_RETRY_MAX_MS)) {
			const outcome = attempt(fn);
			if (outcome.ok) return outcome.value;
			if (!isLocked(outcome.error) || performance.now() >= deadline) throw this.failure(outcome.error);
			await new Promise((resolve) => setTimeout(resolve, pause));
		}
	}

	/** A statement outside any transaction, once every commit before it is on disk: nothing is read before it is durable. */
	all(sql: string, params?: SqlValue[]): Promise<Row[]> {
		return this.serialize(async () => {
			await this.flushes;
			return this.written(await this.whenUnlocked(() => this.rows(sql, params)));
		});
	}

	run(sql: string, params?: SqlValue[]): Promise<number> {
		return this.serialize(async () => {
			await this.flushes;
			return this.written(await this.whenUnlocked(() => this.changes(sql, params)));
		});
	}

	/** A statement's outcome, its writes (if any) to be checkpointed. */
	private written<T>(outcome: T): T {
		this.checkpointer.committed();
		return outcome;
	}

	/**
	 * Copies every WAL frame into the database file and empties the WAL (TRUNCATE), so old page images go too, with no
	 * write of ours under way. The checkpoint worker does it: SQLite waits there for other processes' readers (10 s at
	 * most, holding back their writes), off the event loop. Without a worker the store's connection does, tried again
	 * every 100 ms for 10 s while the file is busy (with writes of other processes going on between the tries).
	 */
	async truncateLog(): Promise<boolean> {
		const emptied = await this.serialize(async () => {
			await this.flushes;
			return await this.checkpointer.truncate();
		});
		if (emptied !== null) return emptied;
		const deadline = performance.now() + BUSY_TIMEOUT_MS;
		// Closed between two tries: the erasure is committed, its WAL not emptied.
		while (!this.closed) {
			const [result] = await this.serialize(async () => {
				await this.flushes;
				return await this.direct.all('PRAGMA wal_checkpoint(TRUNCATE)');
			});
			if (Number(result?.busy) === 0) return true;
			if (performance.now() >= deadline) break;
			await new Promise((resolve) => setTimeout(resolve, TRUNCATE_RETRY_MS));
		}
		return false;
	}

	/** fn's writes, committed with the group it joins; `durable: false` lets a later commit's fsync carry them. */
	transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, durable = true): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			const member: Member = { fn, durable, resolve: resolve as (value: unknown) => void, reject };
			if (this.forming && this.forming.length < GROUP_LIMIT) {
				this.forming.push(member);
				return;
			}
			const group = [member];
			// A group that fails as a whole (closed store, locked, failed COMMIT) rejects every member not yet settled.
			this.serialize(() => this.commit(group)).catch((error: unknown) => {
				// Refused before it began (closed, stopped): nobody may join it any more.
				if (this.forming === group) this.forming = null;
				group.forEach((each) => each.reject(error));
			});
			this.forming = group;
		});
	}

	/**
	 * The WAL file, flushed by us off the event loop; undefined until SQLite created it, or where it cannot be opened
	 * or its folder cannot be flushed (then SQLite flushes, FULL).
	 */
	private async walFile(): Promise<FileHandle | undefined> {
		if (this.wal !== undefined) return this.wal ?? undefined;
		const wal = await open(`${this.location}-wal`, 'r+').catch(() => undefined);
		if (!wal) return undefined;
		// Flushing a file does not flush its name: a WAL created since the folder was last flushed could vanish with a
		// power cut, every commit in it with it. SQLite flushes the folder of a WAL it created at its first sync; with
		// its syncs left to us, we flush the folder once, before the first commit we flush ourselves.
		const folder = await open(dirname(this.location), 'r').catch(() => undefined);
		const flushed = await folder?.sync().then(() => true, () => false);
		await folder?.close();
		if (flushed) this.wal = wal;
		else {
			await wal.close();
			this.wal = null;
		}
		return this.wal ?? undefined;
	}

	private stoppedByFailedFlush(error: Error): StoreUnavailableError {
		return new StoreUnavailableError(
			`The embedded store at ${this.location} stopped after its disk failed to flush a commit (${error.message}): check the disk, then restart n8n`,
			error,
		);
	}

	/** Waits for the writes on their way (writes-on-the-way.ts) while the group can still take them. */
	private async gather(group: Member[]): Promise<void> {
		const until = performance.now() + GROUP_WAIT_MS;
		while (this.forming === group && group.length < GROUP_GATHER && WRITES_ON_THE_WAY.pending > 0) {
			const left = until - performance.now();
			if (left < 1) return;
			this.gathering = new AbortController();
			await WRITES_ON_THE_WAY.nextArrival(left, this.gathering.signal);
			this.gathering = null;
		}
	}

	private async commit(group: Member[]): Promise<void> {
		// One event-loop turn first, so the callers whose I/O completes in it join too (bench:smtp: larger groups, less
		// CPU per message).
		await new Promise(setImmediate);
		await this.gather(group);
		if (this.forming === group) this.forming = null;
		// A WAL that checkpoints no longer empty is emptied now, with nothing written meanwhile (this group waits, the
		// event loop does not), so this group's write can start it again from its beginning (unless another process
		// still reads from it).
		if (this.checkpointer.behind) await this.checkpointer.catchUp();
		const durable = group.some((member) => member.durable);
		// SQLite's own fsync (FULL) would block the event loop for its whole length, and no caller could arrive to join
		// the next group meanwhile. So the group commits with NORMAL (in WAL mode: consistent, surviving a crash of this
		// process, not yet on disk) and the WAL file is then flushed on libuv's thread pool: once that returns, the
		// commit is on disk as FULL would have left it. Where the WAL file cannot be opened yet, SQLite flushes (FULL).
		// A group of non-durable members is not flushed: WAL frames are kept in order, so the next flush carries it.
		const wal = durable ? await this.walFile() : undefined;
		const synchronous = durable && !wal ? 'FULL' : 'NORMAL';
		if (synchronous === 'NORMAL') this.db.exec('PRAGMA synchronous = NORMAL');
		// Each member is told its outcome only once the group is on disk: what made one fail (a duplicate, say) may be
		// another member's write, which a failed COMMIT or flush would take back.
		const outcomes: Array<[Member, Awaited<ReturnType<typeof settle>>]> = [];
		try {
			// IMMEDIATE takes the write lock up front, so two processes never both read then write.
			await this.whenUnlocked(() => this.db.exec('BEGIN IMMEDIATE'));
			let committed = false;
			try {
				for (const member of group) {
					this.db.exec('SAVEPOINT member');
					const outcome = await settle((async () => member.fn(this.direct))());
					outcomes.push([member, outcome]);
					if (!outcome.ok) this.db.exec('ROLLBACK TO member');
					this.db.exec('RELEASE member');
				}
				// A flush that failed while this group ran stopped the store: nothing is committed on top of it.
				if (this.failedFlush) throw this.stoppedByFailedFlush(this.failedFlush);
				this.wrap(() => this.db.exec('COMMIT'));
				committed = true;
				this.checkpointer.committed();
			} finally {
				// A failed ROLLBACK means SQLite already rolled the transaction back itself.
				if (!committed) attempt(() => this.db.exec('ROLLBACK'));
			}
		} finally {
			if (synchronous === 'NORMAL') this.db.exec('PRAGMA synchronous = FULL');
		}
		// The next group runs its statements while this one's flush is under way (as PostgreSQL's WAL writer lets
		// later transactions go on while a commit's fsync runs). Our flushes never overlap: Linux reports a failed
		// writeback once per open file, so of two flushes of our handle at once, one could succeed over pages the other
		// lost (SQLite's own syncs, in a checkpoint, go through a file of their own and still hear of it). A flush
		// begins once the one under way ended, carrying every group committed meanwhile (a flush begun after a
		// COMMIT carries every WAL frame written before it). A group's callers hear their outcome only once its flush
		// and every earlier one succeeded; a failed flush rejects its group and every later one, and stops the store.
		if (wal && !this.nextFlush) {
			const next: Promise<void> = this.flushes.then(() => {
				this.nextFlush = null;
				return wal.datasync().catch((error: Error) => {
					failedFlushes.set(this.location, error);
					throw this.stoppedByFailedFlush(error);
				});
			});
			this.nextFlush = next;
			this.flushes = next;
		}
		this.flushes.then(
			() => outcomes.forEach(([member, outcome]) => (outcome.ok ? member.resolve(outcome.value) : member.reject(outcome.error))),
			(error: unknown) => group.forEach((member) => member.reject(error)),
		);
	}

	close(): Promise<void> {
		return this.serialize(async () => {
			await this.flushes.catch(() => undefined);
			this.closed = true;
			this.statements.clear();
			this.db.close();
			// The worker's connection closes last: it, not the event loop, copies what is left and removes the WAL.
			await this.checkpointer.close();
			return this.wal?.close();
		}, true);
	}
}

const connections = new Map<string, SqliteConnection>();
/**
 * Closes under way, by file. A connection opened on the file meanwhile (a workflow activated again) begins its work
 * once the close ended, the flushes that close waits for included: a flush of the old one that fails stops the new one
 * too, rather than the new one answering on top of it.
 */
const closings = new Map<string, Promise<void>>();

class SqliteDriver implements SqlDriver {
	readonly engine = 'sqlite' as const;
	readonly forUpdate = '';
	readonly forNoKeyUpdate = '';
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

	runUnflushed(sql: string, params?: SqlValue[]): Promise<number> {
		this.check();
		return this.connection.transaction((tx) => tx.run(sql, params), false);
	}

	truncateLog(): Promise<boolean> {
		this.check();
		return this.connection.truncateLog();
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		if (--this.connection.users > 0) return;
		const { location } = this.connection;
		connections.delete(location);
		const closed = settle(this.connection.close());
		const ended = closed.then(() => undefined);
		closings.set(location, ended);
		const outcome = await closed;
		if (closings.get(location) === ended) closings.delete(location);
		if (!outcome.ok) throw outcome.error;
	}
}

/** A handle on the process's connection to the file at path (opened on first use, closed with its last handle). */
export function openSqliteDriver(path: string): SqlDriver {
	const location = resolve(path);
	let connection = connections.get(location);
	if (!connection) {
		connection = SqliteConnection.open(location, closings.get(location));
		connections.set(location, connection);
	}
	connection.users++;
	return new SqliteDriver(connection);
}

/** SQLITE_BUSY: another connection holds the lock a statement needs. */
const isLocked = (error: unknown): boolean => /database is locked|SQLITE_BUSY/i.test((error as Error)?.message ?? '');
