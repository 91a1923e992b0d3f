/**
 * The embedded store's file opened with node:sqlite itself, not through the store: how another process (the CLI, an
 * older n8n) holds its locks in the tests. Waits for a lock as the store once did (busy timeout 10 s).
 */
interface RawDatabase {
	exec(sql: string): void;
	prepare(sql: string): { all(): unknown[] };
	close(): void;
}

export function openRawDatabase(path: string): RawDatabase {
	const { DatabaseSync } = (process as unknown as { getBuiltinModule(id: string): { DatabaseSync: new (path: string) => RawDatabase } }).getBuiltinModule('node:sqlite');
	const db = new DatabaseSync(path);
	db.exec('PRAGMA busy_timeout = 10000');
	return db;
}
