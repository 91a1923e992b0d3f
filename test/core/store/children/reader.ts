import { openRawDatabase } from './raw-sqlite';

/**
 * Holds a read of the embedded store open for a while, its snapshot in the WAL, then ends it: the stand-in for the
 * CLI reading while n8n erases a person.
 * argv: <script> <db path> <hold ms>
 */
const [path, holdMs] = process.argv.slice(3);
const db = openRawDatabase(path);
db.exec('BEGIN');
db.prepare('SELECT COUNT(*) FROM blob').all();
process.stdout.write('reading\n');
setTimeout(() => {
	db.exec('COMMIT');
	db.close();
	process.stdout.write('done\n');
}, Number(holdMs));
