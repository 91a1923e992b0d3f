import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A bench's folder for what it writes (stores, zone files, workflows, attachments), removed when the process that
 * made it exits: a bench leaves nothing behind in the temporary folder, run after run.
 */
export function scratchFolder(prefix: string): string {
	const made = mkdtempSync(join(tmpdir(), prefix));
	process.once('exit', () => rmSync(made, { recursive: true, force: true }));
	return made;
}
