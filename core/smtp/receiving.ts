/**
 * Where a message is written as its DATA arrives, as Postfix writes a queue file: past a small size nothing of it
 * is held in memory, however large. The file lives only until the message is answered (the spool keeps what is
 * kept). Each process writes in a folder of its own, made with a name nobody can guess beforehand (mkdtemp, mode
 * 0700): another local user cannot put a folder of theirs in its place. It is removed when the process exits; one
 * left by a process that was killed is removed by the next that starts.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { noteBytesRead } from '../garbage';
import { bytesOf, fileBytes, type MessageBytes } from '../message-bytes';

const FOLDER_PREFIX = 'hosted-inbox-receiving-';
/** `<prefix><pid>-<random>`: whose folder it is. */
const FOLDER_NAME = /^hosted-inbox-receiving-(\d{1,10})-[A-Za-z0-9]{6}$/;

/** This process's folder, once made; made again if something (a temp cleaner) removed it. */
let folder: string | null = null;
let cleaned = false;

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/**
 * A folder of ours (this user's, a real folder) left by a process that is gone. Looked for before this process
 * makes its own, so one named with this process's pid is a dead one's too (a container restarted in place keeps
 * /tmp and often the pid).
 */
function leftBehind(root: string, name: string): boolean {
	const pid = Number(FOLDER_NAME.exec(name)?.[1] ?? NaN);
	if (!Number.isInteger(pid) || (pid !== process.pid && alive(pid))) return false;
	const stat = lstatSync(join(root, name), { throwIfNoEntry: false });
	return !!stat && stat.isDirectory() && stat.uid === process.getuid?.();
}

/** This process's folder, made on first use after removing the folders of processes that are gone. */
export function receivingFolder(): string {
	if (folder && existsSync(folder)) return folder;
	const root = tmpdir();
	if (!cleaned) for (const name of readdirSync(root)) if (leftBehind(root, name)) rmSync(join(root, name), { recursive: true, force: true });
	cleaned = true;
	const made = mkdtempSync(join(root, `${FOLDER_PREFIX}${process.pid}-`));
	process.once('exit', () => rmSync(made, { recursive: true, force: true }));
	folder = made;
	return made;
}

/** A message up to this size is kept in memory as it arrives; a larger one goes to a file from here on. */
export const IN_MEMORY_BYTES = 256 * 1024;

/** What came of reading a message's DATA: its bytes (in memory or on disk), or only how many there were. */
export interface Received {
	/** All the bytes the client sent, counted even when they were not kept. */
	size: number;
	/** The bytes, when every one was kept; a file is removed by `discard`. */
	message: MessageBytes | null;
	discard(): void;
}

/**
 * Reads the stream while `keep(chunk)` says yes: in memory up to IN_MEMORY_BYTES (most mail, never touching the
 * disk), then into a file of its own. From the first no, the bytes are only counted to the end (the client must
 * still be read to the end to be answered) and what was kept dropped.
 */
export async function receiveMessage(stream: Readable, keep: (chunk: Buffer, sizeSoFar: number) => boolean): Promise<Received> {
	let memory: Buffer[] | null = [];
	let file: SpillFile | null = null;
	let size = 0;
	let keeping = true;
	let received = false;
	let failure: Error | null = null;
	try {
		await new Promise<void>((resolve, reject) => {
			stream.once('error', reject);
			stream.on('data', (chunk: Buffer) => {
				size += chunk.length;
				noteBytesRead(chunk.length, size);
				if (!keeping) return;
				if (!keep(chunk, size)) {
					keeping = false;
					memory = null;
					file?.stream.destroy();
					return;
				}
				if (memory && size <= IN_MEMORY_BYTES) {
					memory.push(chunk);
					return;
				}
				if (!file) {
					file = spillFile();
					// The disk failed (full): the rest is only counted, so the client reaches its end and hears 451.
					file.stream.once('error', (error: Error) => {
						failure = error;
						keeping = false;
						stream.resume();
					});
					for (const kept of memory ?? []) file.stream.write(kept);
					memory = null;
				}
				// Back-pressure: a client faster than the disk waits, its bytes not piling up in memory.
				const { stream: out } = file;
				if (!out.write(chunk)) {
					stream.pause();
					out.once('drain', () => stream.resume());
				}
			});
			stream.once('end', () => (failure ? reject(failure) : resolve()));
		});
		// Assigned in the handlers above, where TypeScript does not follow.
		const spilled = file as SpillFile | null;
		if (keeping && spilled) await new Promise<void>((resolve, reject) => spilled.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
		received = true;
	} finally {
		const spilled = file as SpillFile | null;
		if (!received) {
			keeping = false;
			spilled?.stream.destroy();
		}
		if (!keeping) await spilled?.discard();
	}
	const spilled = file as SpillFile | null;
	if (!keeping) return { size, message: null, discard: () => {} };
	if (!spilled) return { size, message: bytesOf(Buffer.concat(memory ?? [], size)), discard: () => {} };
	return { size, message: fileBytes(spilled.path, size), discard: () => rmSync(spilled.path, { force: true }) };
}

interface SpillFile {
	path: string;
	stream: WriteStream;
	/** Removes the file once it is closed: it is opened asynchronously, and an opening still under way would create it again. */
	discard(): Promise<void>;
}

function spillFile(): SpillFile {
	const path = join(receivingFolder(), randomUUID());
	const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
	const closed = new Promise<void>((resolve) => stream.once('close', resolve));
	return {
		path,
		stream,
		async discard() {
			await closed;
			rmSync(path, { force: true });
		},
	};
}
