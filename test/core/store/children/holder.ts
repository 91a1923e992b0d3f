import { openRawDatabase } from './raw-sqlite';

/**
 * Holds the embedded store's write lock with an uncommitted intake-log row for a while, then commits:
 * the stand-in for n8n in the middle of a write while the CLI reads.
 * argv: <script> <db path> <hold ms>
 */
const [path, holdMs] = process.argv.slice(3);
const db = openRawDatabase(path);
db.exec('BEGIN IMMEDIATE');
db.exec(`INSERT INTO intake_log (id, inbox_id, kind, at, rcpt, details) VALUES ('held-row', NULL, 'rejected', '${new Date().toISOString()}', '[]', '{}')`);
process.stdout.write('holding\n');
setTimeout(() => {
	db.exec('COMMIT');
	db.close();
	process.stdout.write('committed\n');
}, Number(holdMs));
