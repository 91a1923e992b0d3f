/**
 * A process that writes to the embedded store and ends without closing it (as a CLI command that fails half way):
 * it must still exit once its work is done, its checkpoint worker not keeping it alive.
 * argv: <script> <db path>
 */
import { openSqliteDriver } from '../../../../core/store/sqlite';

async function main(): Promise<void> {
	const db = openSqliteDriver(process.argv[3]);
	await db.run('CREATE TABLE blob (value BLOB NOT NULL)');
	for (let i = 0; i < 8; i++) await db.transaction((tx) => tx.run('INSERT INTO blob (value) VALUES ($1)', [Buffer.alloc(128 * 1024, i)]));
	process.stdout.write('written\n');
}

void main();
