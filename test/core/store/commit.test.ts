/**
 * How the store commits: the embedded engine's group commit (concurrent transactions share one COMMIT, each in a
 * savepoint of its own) and, on both engines, the unflushed write a completion mark uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Row, SqlDriver } from '../../../core/store/sql';
import { openSqliteDriver } from '../../../core/store/sqlite';
import { StoreUnavailableError } from '../../../core/store/types';
import { WRITES_ON_THE_WAY } from '../../../core/store/writes-on-the-way';
import { describeEachStore, engineGate, sqlDriverFor } from '../../support/stores';
import { until } from '../../support/until';

/** A connection of its own on the file (not the process's shared one): it sees only what was committed. */
function reader(path: string): { rows(sql: string): Row[]; close(): void } {
	const { DatabaseSync } = (process as unknown as { getBuiltinModule(id: string): { DatabaseSync: new (p: string) => { prepare(sql: string): { all(): Row[] }; close(): void } } }).getBuiltinModule(
		'node:sqlite',
	);
	const db = new DatabaseSync(path);
	return { rows: (sql) => db.prepare(sql).all(), close: () => db.close() };
}

const values = (rows: Row[]) => rows.map((row) => Number(row.value)).sort((a, b) => a - b);

/**
 * The WAL's flushes (our fdatasync of it): one begun while `failing` is set fails with EIO; one begun while `held`
 * is set ends only once it settles.
 */
function controlledFlushes(): { failing: boolean; held: Promise<void> | null; begun: number; mostAtOnce: number; restore(): void } {
	const files = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
	const realOpen = files.open;
	const control = { failing: false, held: null as Promise<void> | null, begun: 0, mostAtOnce: 0, restore: () => spy.mockRestore() };
	let running = 0;
	const spy = jest.spyOn(files, 'open').mockImplementation(async (file, flags) => {
		const handle = await realOpen(file, flags);
		if (String(file).endsWith('-wal')) {
			const datasync = handle.datasync.bind(handle);
			handle.datasync = async () => {
				control.begun++;
				control.mostAtOnce = Math.max(control.mostAtOnce, ++running);
				try {
					const { failing, held } = control;
					await held;
					if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
					await datasync();
				} finally {
					running--;
				}
			};
		}
		return handle;
	});
	return control;
}

/**
 * Every flush held from now until `release` (`hold` holds the flushes begun after it again), and `committed(value)`:
 * whether another connection sees the row, so a test knows a group's COMMIT is done while its flush waits.
 */
function holdingFlushes(path: string) {
	const flushes = controlledFlushes();
	const outside = reader(path);
	const gates: Array<() => void> = [];
	const hold = () => {
		flushes.held = new Promise((resolve) => gates.push(resolve));
	};
	hold();
	return {
		flushes,
		committed: (value: number) => () => values(outside.rows('SELECT value FROM entry')).includes(value),
		hold,
		release: () => gates.forEach((open) => open()),
		done() {
			gates.forEach((open) => open());
			flushes.restore();
			outside.close();
		},
	};
}

/** Until `check` holds, asked each millisecond for at most five seconds: a group's COMMIT comes within an event-loop turn or two. */
const soon = (what: string, check: () => boolean) => until(what, check, { timeoutMs: 5_000, everyMs: 1 });

engineGate('sqlite').describe('the embedded store commits waiting transactions together', () => {
	let dir: string;
	let path: string;
	let db: SqlDriver;

	beforeEach(async () => {
		dir = mkdtempSync(join(tmpdir(), 'hi-commit-'));
		path = join(dir, 'commit.sqlite');
		db = openSqliteDriver(path);
		await db.run('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
		await db.run('CREATE TABLE entry (value INTEGER NOT NULL, parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
	});

	afterEach(async () => {
		await db.close();
		rmSync(dir, { recursive: true, force: true });
	});

	it("flushes the store's folder once, before the first commit whose WAL it flushes itself (so a new WAL's name survives a power cut)", async () => {
		const files = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
		const realOpen = files.open;
		const folderSyncs: string[] = [];
		const spy = jest.spyOn(files, 'open').mockImplementation(async (file, flags) => {
			const handle = await realOpen(file, flags);
			if (file === dir) {
				const sync = handle.sync.bind(handle);
				handle.sync = async () => {
					folderSyncs.push(String(file));
					await sync();
				};
			}
			return handle;
		});
		try {
			for (const value of [1, 2, 3]) await db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES ($1)', [value]));
		} finally {
			spy.mockRestore();
		}
		expect(folderSyncs).toEqual([dir]);
		const outside = reader(path);
		expect(values(outside.rows('SELECT value FROM entry'))).toEqual([1, 2, 3]);
		outside.close();
	});

	it('resolves each caller only once its writes are committed, together with the others waiting', async () => {
		const outside = reader(path);
		try {
			const seenWhenResolved: number[][] = [];
			await Promise.all(
				[1, 2, 3].map((value) =>
					db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES ($1)', [value])).then(() => seenWhenResolved.push(values(outside.rows('SELECT value FROM entry')))),
				),
			);
			// The first caller to resolve already sees the last one's row: the three were committed by one COMMIT.
			expect(seenWhenResolved).toEqual([
				[1, 2, 3],
				[1, 2, 3],
				[1, 2, 3],
			]);
		} finally {
			outside.close();
		}
	});

	it('waits for a write announced on its way, so it shares the commit of a group that formed before it arrived', async () => {
		const outside = reader(path);
		const arrived = WRITES_ON_THE_WAY.announce();
		try {
			const seenWhenResolved: number[][] = [];
			const see = () => seenWhenResolved.push(values(outside.rows('SELECT value FROM entry')));
			const first = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)')).then(see);
			// Later than the event-loop turn a group waits in any case: without the announcement, 1 commits alone.
			await new Promise((resolve) => setTimeout(resolve, 0));
			const second = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (2)')).then(see);
			arrived();
			await Promise.all([first, second]);
			expect(seenWhenResolved).toEqual([
				[1, 2],
				[1, 2],
			]);
		} finally {
			arrived();
			outside.close();
		}
	});

	it('waits for an announced write no longer than its bound: one that never comes delays a commit by milliseconds', async () => {
		const arrived = WRITES_ON_THE_WAY.announce();
		try {
			const started = performance.now();
			await db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'));
			expect(performance.now() - started).toBeLessThan(250);
			expect(values(await db.all('SELECT value FROM entry'))).toEqual([1]);
		} finally {
			arrived();
		}
	});

	it('answers a read queued behind a group waiting for joiners after that group, with its rows', async () => {
		const arrived = WRITES_ON_THE_WAY.announce();
		try {
			const order: string[] = [];
			const write = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)')).then(() => order.push('write'));
			await new Promise((resolve) => setTimeout(resolve, 0));
			// Queued behind the group, it closes it: the group commits without waiting on, and the read sees its row.
			const read = db.all('SELECT value FROM entry').then((rows) => order.push(`read ${values(rows).join(',')}`));
			await Promise.all([write, read]);
			expect(order).toEqual(['write', 'read 1']);
		} finally {
			arrived();
		}
	});

	it('rolls back only the writes of the caller that failed; the others commit', async () => {
		const failing = new Error('this caller fails');
		const outcomes = await Promise.allSettled([
			db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)')),
			db.transaction(async (tx) => {
				await tx.run('INSERT INTO entry (value) VALUES (2)');
				throw failing;
			}),
			db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (3)')),
		]);
		expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
		expect((outcomes[1] as PromiseRejectedResult).reason).toBe(failing);
		expect(values(await db.all('SELECT value FROM entry'))).toEqual([1, 3]);
	});

	it('rejects every caller of a group whose COMMIT fails, and keeps none of their writes', async () => {
		// A deferred foreign key is checked at COMMIT: the second caller's row makes the shared COMMIT fail.
		const outcomes = await Promise.allSettled([
			db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)')),
			db.transaction((tx) => tx.run('INSERT INTO entry (value, parent) VALUES (2, 99)')),
		]);
		expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
		expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
		expect(await db.all('SELECT value FROM entry')).toEqual([]);
		// The connection is usable again afterwards.
		await db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (3)'));
		expect(values(await db.all('SELECT value FROM entry'))).toEqual([3]);
	});

	it("tells a member of its own failure only with its group's outcome, never before a COMMIT that may undo its cause", async () => {
		const outcomes = await Promise.allSettled([
			// Fails the shared COMMIT (a deferred foreign key) ...
			db.transaction((tx) => tx.run('INSERT INTO entry (value, parent) VALUES (1, 99)')),
			// ... after the second member failed on the first one's row (the way a replay of a message fails).
			db.transaction(async (tx) => {
				const [row] = await tx.all('SELECT COUNT(*) AS n FROM entry WHERE value = 1');
				if (Number(row.n) > 0) throw new Error('a duplicate of an entry not yet committed');
				await tx.run('INSERT INTO entry (value) VALUES (1)');
			}),
		]);
		// The duplicate it saw never existed: it learns of the group's failure, and tries again later.
		expect(outcomes.map((outcome) => String((outcome as PromiseRejectedResult).reason))).toEqual([expect.stringMatching(/FOREIGN KEY/), expect.stringMatching(/FOREIGN KEY/)]);
		expect(await db.all('SELECT value FROM entry')).toEqual([]);
	});

	it("runs the next group's statements while an earlier group's flush is under way, and answers it only after a flush of its own", async () => {
		const held = holdingFlushes(path);
		try {
			const answered: string[] = [];
			const first = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)')).then(() => answered.push('first'));
			await soon('row 1 committed', held.committed(1));
			const second = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (2)')).then(() => answered.push('second'));
			// Committed while the first group's flush waits, and not answered before it.
			await soon('row 2 committed', held.committed(2));
			expect(answered).toEqual([]);
			// The first flush ends; the one that carries the second group begins after it, and waits.
			held.release();
			held.hold();
			await soon('the first caller answered', () => answered.length > 0);
			await new Promise((resolve) => setTimeout(resolve, 20));
			expect(answered).toEqual(['first']);
			held.release();
			await Promise.all([first, second]);
			expect(answered).toEqual(['first', 'second']);
		} finally {
			held.done();
		}
	});

	it("refuses a group committed during an earlier group's flush when that flush fails, and flushes nothing after it", async () => {
		const held = holdingFlushes(path);
		held.flushes.failing = true;
		try {
			const first = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'));
			await soon('row 1 committed', held.committed(1));
			held.flushes.failing = false;
			const second = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (2)'));
			await soon('row 2 committed', held.committed(2));
			held.release();
			await expect(first).rejects.toThrow(/failed to flush a commit \(EIO/);
			await expect(second).rejects.toThrow(/failed to flush a commit \(EIO/);
			expect(held.flushes.begun).toBe(1);
		} finally {
			held.done();
		}
	});

	it('never runs two flushes at once: the groups committed during one share the next', async () => {
		const held = holdingFlushes(path);
		try {
			const first = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'));
			await soon('row 1 committed', held.committed(1));
			const second = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (2)'));
			await soon('row 2 committed', held.committed(2));
			const third = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (3)'));
			await soon('row 3 committed', held.committed(3));
			expect(held.flushes.begun).toBe(1);
			held.release();
			await Promise.all([first, second, third]);
			expect(held.flushes.begun).toBe(2);
			expect(held.flushes.mostAtOnce).toBe(1);
		} finally {
			held.done();
		}
	});

	it('commits nothing on top of a flush that failed while a group was running', async () => {
		const held = holdingFlushes(path);
		held.flushes.failing = true;
		let letGo = () => {};
		const gate = new Promise<void>((resolve) => (letGo = resolve));
		try {
			const first = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'));
			await soon('row 1 committed', held.committed(1));
			held.flushes.failing = false;
			let running = false;
			const second = db.transaction(async (tx) => {
				await tx.run('INSERT INTO entry (value) VALUES (2)');
				running = true;
				await gate;
			});
			await soon('the second group running', () => running);
			held.release();
			await expect(first).rejects.toThrow(/failed to flush a commit \(EIO/);
			letGo();
			await expect(second).rejects.toThrow(/failed to flush a commit \(EIO/);
			expect(held.committed(2)()).toBe(false);
		} finally {
			letGo();
			held.done();
		}
	});

	it('stops when a flush of its commits fails: that group and every later call are refused, none answered on top of it', async () => {
		const flushes = controlledFlushes();
		try {
			await db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'));
			flushes.failing = true;
			await expect(db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (2)'))).rejects.toThrow(/failed to flush a commit \(EIO.*check the disk, then restart n8n/);
			flushes.failing = false;
			// Its row may be visible but not on disk: nothing reads it, nothing is committed after it.
			await expect(db.all('SELECT value FROM entry')).rejects.toThrow(StoreUnavailableError);
			await expect(db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (3)'))).rejects.toThrow(StoreUnavailableError);
			await expect(db.runUnflushed('INSERT INTO entry (value) VALUES (4)')).rejects.toThrow(StoreUnavailableError);
		} finally {
			flushes.restore();
		}
	});

	it('stays stopped after a failed flush when its last handle is closed and the file opened again in the same process', async () => {
		const flushes = controlledFlushes();
		try {
			flushes.failing = true;
			await expect(db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'))).rejects.toThrow(StoreUnavailableError);
		} finally {
			flushes.restore();
		}
		// A workflow deactivated and activated again: the process was not restarted, the disk not checked.
		await db.close();
		db = openSqliteDriver(path);
		await expect(db.all('SELECT value FROM entry')).rejects.toThrow(/failed to flush a commit \(EIO.*check the disk, then restart n8n/);
	});

	it('opens the file again behind a close still under way: a flush that close waits for and that fails stops the new handle too', async () => {
		const held = holdingFlushes(path);
		held.flushes.failing = true;
		try {
			const first = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'));
			await soon('row 1 committed', held.committed(1));
			// A workflow deactivated and at once activated again, while its last commit is still being flushed.
			const closing = db.close();
			db = openSqliteDriver(path);
			held.flushes.failing = false;
			const second = db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (2)'));
			held.release();
			await expect(first).rejects.toThrow(/failed to flush a commit \(EIO/);
			await closing;
			await expect(second).rejects.toThrow(/failed to flush a commit \(EIO/);
			expect(held.committed(2)()).toBe(false);
		} finally {
			held.done();
		}
	});

	it('keeps later commits durable after an unflushed write (synchronous back to FULL)', async () => {
		await Promise.all([db.runUnflushed('INSERT INTO entry (value) VALUES (1)'), db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (2)'))]);
		await db.runUnflushed('INSERT INTO entry (value) VALUES (3)');
		const [{ synchronous }] = await db.all('PRAGMA synchronous');
		expect(Number(synchronous)).toBe(2);
	});
});

describeEachStore('an unflushed write', (_getStore, engine, getOptions) => {
	let db: SqlDriver;
	let table: string;
	beforeAll(async () => {
		const options = getOptions();
		db = sqlDriverFor(options);
		table = `unflushed_${engine}`;
		await db.run(`CREATE TABLE ${table} (value INTEGER NOT NULL)`);
	});
	// The table goes with the block's store (its file, its schema).
	afterAll(() => db.close());

	it('is committed when it resolves, and reports the rows it changed', async () => {
		await db.run(`INSERT INTO ${table} (value) VALUES (1), (2)`);
		expect(await db.runUnflushed(`UPDATE ${table} SET value = value + 10`)).toBe(2);
		expect(values(await db.all(`SELECT value FROM ${table}`))).toEqual([11, 12]);
	});
});
