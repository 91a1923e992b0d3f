/**
 * The embedded engine's group commit: statements that arrive while the connection is busy commit together, and each
 * still succeeds or fails exactly as it would alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { SqlDriver } from '../../../core/store/sql';
import { openSqliteDriver } from '../../../core/store/sqlite';
import { engineGate } from '../../support/stores';

engineGate('sqlite').describe('the embedded engine: statements of concurrent callers', () => {
	let dir: string;
	let db: SqlDriver;

	beforeEach(async () => {
		dir = mkdtempSync(join(tmpdir(), 'hi-sqlite-'));
		db = openSqliteDriver(join(dir, 'store.sqlite'));
		await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT NOT NULL)');
		await db.run("INSERT INTO t VALUES (7, 'there before')");
	});

	afterEach(async () => {
		await db.close();
		rmSync(dir, { recursive: true, force: true });
	});

	it('keeps every write of 50 callers at once, in order, each answered with its own result', async () => {
		const writes = Array.from({ length: 50 }, (_, i) => db.all('INSERT INTO t VALUES ($1, $2) RETURNING id, note', [100 + i, `write ${i}`]));
		const rows = await Promise.all(writes);
		expect(rows.map(([row]) => row)).toEqual(Array.from({ length: 50 }, (_, i) => ({ id: 100 + i, note: `write ${i}` })));
		expect(await db.all('SELECT COUNT(*) AS n FROM t')).toEqual([{ n: 51 }]);
	});

	it('fails only the statement that fails: the others of its group are kept', async () => {
		const writes = [1, 2, 7, 3, 4].map((id) => db.run('INSERT INTO t VALUES ($1, $2)', [id, `new ${id}`]));
		const outcomes = await Promise.allSettled(writes);
		expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
		expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed/);
		expect(await db.all('SELECT id, note FROM t ORDER BY id')).toEqual([
			{ id: 1, note: 'new 1' },
			{ id: 2, note: 'new 2' },
			{ id: 3, note: 'new 3' },
			{ id: 4, note: 'new 4' },
			{ id: 7, note: 'there before' },
		]);
	});

	it('reads what the writes queued before it wrote, and a transaction in between keeps its place', async () => {
		const first = db.run("INSERT INTO t VALUES (1, 'a')");
		const tx = db.transaction(async (t) => {
			await t.run("UPDATE t SET note = 'b' WHERE id = 1");
			return (await t.all('SELECT note FROM t WHERE id = 1'))[0];
		});
		const after = db.all('SELECT note FROM t WHERE id = 1');
		await first;
		expect(await tx).toEqual({ note: 'b' });
		expect(await after).toEqual([{ note: 'b' }]);
	});
});
