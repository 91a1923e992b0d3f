export {};

/**
 * Holds a read of the embedded store open for a while, its snapshot in the WAL, then ends it: the stand-in for the
 * CLI reading while n8n erases a person.
 * argv: <script> <db path> <hold ms>
 */
const [path, holdMs] = process.argv.slice(3);
const { DatabaseSync } = (process as unknown as { getBuiltinModule(id: string): { DatabaseSync: new (path: string) => { exec(sql: string): void; prepare(sql: string): { all(): unknown[] }; close(): void } } }).getBuiltinModule(
	'node:sqlite',
);
const db = new DatabaseSync(path);
db.exec('PRAGMA busy_timeout = 10000');
db.exec('BEGIN');
db.prepare('SELECT COUNT(*) FROM blob').all();
process.stdout.write('reading\n');
setTimeout(() => {
	db.exec('COMMIT');
	db.close();
	process.stdout.write('done\n');
}, Number(holdMs));
