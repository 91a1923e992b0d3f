/**
 * A process that writes to the embedded store and ends without closing it (as a CLI command that fails half way).
 * Its last transaction waits for the checkpoint worker to empty a large WAL: the worker keeps the process alive until
 * that transaction committed, and not a moment longer. Prints "committed" once it did.
 * argv: <script> <db path>
 */
import { statSync } from 'node:fs';

import { openSqliteDriver } from '../../../../core/store/sqlite';
import { until } from '../../../support/until';

const MB = 1024 * 1024;

async function main(): Promise<void> {
	const path = process.argv[3];
	const db = openSqliteDriver(path);
	await db.run('CREATE TABLE blob (value BLOB NOT NULL)');
	// 20 MB in one commit: the worker's checkpoint finds more than 16 MB in the WAL, so the next transaction catches up.
	await db.transaction((tx) => tx.run('INSERT INTO blob (value) VALUES ($1)', [Buffer.alloc(20 * MB, 1)]));
	await until('the worker copied the commit', () => statSync(path).size >= 20 * MB, { timeoutMs: 10_000, everyMs: 10 });
	await new Promise((resolve) => setTimeout(resolve, 200));
	await db.transaction((tx) => tx.run('INSERT INTO blob (value) VALUES ($1)', [Buffer.alloc(10, 2)]));
	process.stdout.write('committed\n');
}

void main();
