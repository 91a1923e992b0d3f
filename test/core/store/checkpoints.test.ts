/**
 * The embedded store's checkpoints: copied from the WAL into the database file by a thread of their own, never in a
 * commit on the event loop; a WAL that writes never let a checkpoint empty is emptied before the next write; the
 * worker's connection closes before the store's, which removes the WAL.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { SqlDriver } from '../../../core/store/sql';
import { openSqliteDriver } from '../../../core/store/sqlite';
import { Checkpointer } from '../../../core/store/sqlite-checkpointer';
import { engineGate } from '../../support/stores';
import { withLongestTurn } from '../../support/event-loop';
import { until } from '../../support/until';
import { spawnChild, waitForLines } from './children/spawn';

const MB = 1024 * 1024;
const soon = (what: string, check: () => boolean | Promise<boolean>) => until(what, check, { timeoutMs: 10_000, everyMs: 10 });

engineGate('sqlite').describe('the embedded store checkpoints on a thread of its own', () => {
	let dir: string;
	let path: string;
	let db: SqlDriver;

	beforeEach(async () => {
		dir = mkdtempSync(join(tmpdir(), 'hi-checkpoint-'));
		path = join(dir, 'checkpoint.sqlite');
		db = openSqliteDriver(path);
		await db.run('CREATE TABLE blob (value BLOB NOT NULL)');
	});

	afterEach(async () => {
		await db.close();
		rmSync(dir, { recursive: true, force: true });
	});

	const write = (bytes: number) => db.transaction((tx) => tx.run('INSERT INTO blob (value) VALUES ($1)', [Buffer.alloc(bytes, 7)]));
	const autocheckpoint = async () => Number((await db.all('PRAGMA wal_autocheckpoint'))[0].wal_autocheckpoint);
	/** The worker runs once the store's connection has SQLite's own checkpoints off. */
	const workerRuns = () => soon('the worker runs', async () => (await autocheckpoint()) === 0);

	it("turns SQLite's own automatic checkpoints off once its worker runs, and copies commits into the database file", async () => {
		await workerRuns();
		expect(await autocheckpoint()).toBe(0);
		// 1 MB: a quarter of what SQLite's own checkpoint waits for (1,000 pages), so only the worker copies it.
		await write(MB);
		await soon('the commit is copied into the database file', () => statSync(path).size >= MB);
	});

	it('empties a WAL that writes without a pause keep filling, so it starts again from its beginning', async () => {
		// 96 MB in 256 KB transactions one after another: no checkpoint running beside them ever copies the whole WAL,
		// which would then grow to hold all of it (104 MB with its frame headers). How far it grows before a catch-up
		// empties it depends on how fast the machine writes (a checkpoint follows a commit by 100 ms): 50-57 MB here,
		// so the bound is what was written, which only a WAL started again stays under.
		const written = 384 * 256 * 1024;
		for (let i = 0; i < 384; i++) await write(256 * 1024);
		expect(statSync(`${path}-wal`).size).toBeLessThan(written);
	});

	it("closes the worker's connection with the store's: once the close resolved, the WAL is copied and removed", async () => {
		await write(64 * 1024);
		expect(existsSync(`${path}-wal`)).toBe(true);
		await db.close();
		expect(existsSync(`${path}-wal`)).toBe(false);
	});

	it("empties the WAL for an erasure even while the worker's own checkpoint is under way", async () => {
		await workerRuns();
		await write(48 * MB);
		// Its checkpoint begins 100 ms after the commit and takes a while to copy 48 MB.
		await new Promise((resolve) => setTimeout(resolve, 110));
		expect(await db.truncateLog()).toBe(true);
		expect(statSync(`${path}-wal`).size).toBe(0);
	});

	it('waits off the event loop for another process reading from the WAL, then empties it for an erasure', async () => {
		await workerRuns();
		const reader = spawnChild('reader.ts', [path, '1500']);
		await waitForLines(reader.lines, 1, 20_000);
		// Written after the reader's snapshot: copying it into the database file must wait for that read to end.
		await write(64 * 1024);
		expect(reader.lines).toEqual(['reading']);
		const { value: emptied, longestTurnMs } = await withLongestTurn(() => db.truncateLog());
		expect(emptied).toBe(true);
		expect(longestTurnMs).toBeLessThan(750);
		expect(statSync(`${path}-wal`).size).toBe(0);
		expect(await reader.exited).toMatchObject({ code: 0 });
		expect(reader.lines).toEqual(['reading', 'done']);
	});
});

engineGate('sqlite').describe('a checkpointer', () => {
	it('keeps a process alive while a transaction waits for it, and no longer: one that did not close the store exits', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'hi-checkpoint-'));
		let timer: NodeJS.Timeout | undefined;
		try {
			const writer = spawnChild('unclosed.ts', [join(dir, 'unclosed.sqlite')]);
			const exit = await Promise.race([writer.exited, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), 30_000)))]);
			writer.child.kill('SIGKILL');
			expect(exit).toMatchObject({ code: 0 });
			expect(writer.lines).toEqual(['committed']);
		} finally {
			clearTimeout(timer);
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('that cannot start a thread leaves the checkpoints to SQLite, and the store works as before', async () => {
		const threads = jest.requireActual<typeof import('node:worker_threads')>('node:worker_threads');
		const spy = jest.spyOn(threads, 'Worker').mockImplementation(() => {
			throw Object.assign(new Error('ERR_WORKER_INIT_FAILED: EAGAIN'), { code: 'ERR_WORKER_INIT_FAILED' });
		});
		const dir = mkdtempSync(join(tmpdir(), 'hi-checkpoint-'));
		const db = openSqliteDriver(join(dir, 'no-thread.sqlite'));
		try {
			spy.mockRestore();
			await db.run('CREATE TABLE entry (value INTEGER NOT NULL)');
			await db.transaction((tx) => tx.run('INSERT INTO entry (value) VALUES (1)'));
			expect(await db.all('SELECT value FROM entry')).toEqual([{ value: 1 }]);
			expect(await db.all('PRAGMA wal_autocheckpoint')).toEqual([{ wal_autocheckpoint: 1000 }]);
			// An erasure's TRUNCATE, on the store's own connection.
			expect(await db.truncateLog()).toBe(true);
			expect(statSync(join(dir, 'no-thread.sqlite-wal')).size).toBe(0);
		} finally {
			spy.mockRestore();
			await db.close();
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('that cannot open the store says it is gone, so SQLite checkpoints for itself again', async () => {
		const events = { ready: 0, gone: 0 };
		const checkpointer = new Checkpointer(join(tmpdir(), 'no-such-folder-of-hosted-inbox', 'store.sqlite'), {
			onReady: () => events.ready++,
			onGone: () => events.gone++,
		});
		await soon('the worker is gone', () => events.gone === 1);
		expect(events.ready).toBe(0);
		await checkpointer.close();
	});
});
