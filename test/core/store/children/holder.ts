export {};

/**
 * Holds the embedded store's write lock with an uncommitted intake-log row for a while, then commits:
 * the stand-in for n8n in the middle of a write while the CLI reads.
 * argv: <script> <db path> <hold ms>
 */
const [path, holdMs] = process.argv.slice(3);
const { DatabaseSync } = (process as unknown as { getBuiltinModule(id: string): { DatabaseSync: new (path: string) => { exec(sql: string): void; close(): void } } }).getBuiltinModule(
	'node:sqlite',
);
const db = new DatabaseSync(path);
db.exec('PRAGMA busy_timeout = 10000');
db.exec('BEGIN IMMEDIATE');
db.exec(`INSERT INTO intake_log (id, inbox_id, kind, at, rcpt, details) VALUES ('held-row', NULL, 'rejected', '${new Date().toISOString()}', '[]', '{}')`);
process.stdout.write('holding\n');
setTimeout(() => {
	db.exec('COMMIT');
	db.close();
	process.stdout.write('committed\n');
}, Number(holdMs));
