/**
 * Where a message is written as its DATA arrives, as Postfix writes a queue file: nothing of it is held in memory,
 * however large. The file lives only until the message is answered (the spool keeps what is kept); a folder per
 * process, so one left by a process that died (killed mid-message) is removed by the next that starts.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { fileBytes, type MessageBytes } from '../message-bytes';

const FOLDER_PREFIX = 'hosted-inbox-receiving-';

let folder: string | null = null;

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/** This process's folder, made on first use after removing the folders of processes that are gone. */
function receivingFolder(): string {
	if (folder) return folder;
	const root = tmpdir();
	for (const name of readdirSync(root)) {
		const pid = name.startsWith(FOLDER_PREFIX) ? Number(name.slice(FOLDER_PREFIX.length)) : NaN;
		if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(root, name), { recursive: true, force: true });
	}
	folder = join(root, `${FOLDER_PREFIX}${process.pid}`);
	mkdirSync(folder, { recursive: true, mode: 0o700 });
	return folder;
}

/** What came of reading a message's DATA: its bytes on disk, or only how many there were (past a limit). */
export interface Received {
	/** All the bytes the client sent, counted even when they were not kept. */
	size: number;
	/** The bytes, when every one was kept; the file is removed by `discard`. */
	message: MessageBytes | null;
	discard(): void;
}

/**
 * Writes the stream to a file of its own while `keep(chunk)` says yes; from the first no, the bytes are only
 * counted to the end (the client must still be read to the end to be answered) and the file removed.
 */
export async function receiveToFile(stream: Readable, keep: (chunk: Buffer, sizeSoFar: number) => boolean): Promise<Received> {
	const path = join(receivingFolder(), randomUUID());
	const file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
	// The file is opened asynchronously: it is removed only once closed, or its opening would create it again.
	const closed = new Promise<void>((resolve) => file.once('close', resolve));
	const discard = () => rmSync(path, { force: true });
	let size = 0;
	let keeping = true;
	let received = false;
	try {
		await new Promise<void>((resolve, reject) => {
			file.once('error', reject);
			stream.once('error', reject);
			stream.on('data', (chunk: Buffer) => {
				size += chunk.length;
				if (!keeping) return;
				if (!keep(chunk, size)) {
					keeping = false;
					file.destroy();
					return;
				}
				// Back-pressure: a client faster than the disk waits, its bytes not piling up in memory.
				if (!file.write(chunk)) {
					stream.pause();
					file.once('drain', () => stream.resume());
				}
			});
			stream.once('end', resolve);
		});
		if (keeping) await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
		received = true;
	} finally {
		if (!received) {
			keeping = false;
			file.destroy();
		}
		if (!keeping) {
			await closed;
			discard();
		}
	}
	return { size, message: keeping ? fileBytes(path, size) : null, discard };
}
