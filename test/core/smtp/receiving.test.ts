import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { readAll } from '../../../core/message-bytes';
import { IN_MEMORY_BYTES, receiveMessage, receivingFolder } from '../../../core/smtp/receiving';
import { REGISTER_TS } from '../store/children/spawn';


function streamOf(pieces: Buffer[]): Readable {
	return Readable.from(pieces, { objectMode: false });
}

describe('receiveMessage: a message kept in memory while small, past that written to a file as it arrives', () => {
	// First, before this process made its folder: the folder a killed process left is removed.
	it("removes the folder of a process that is gone, with what it was receiving; keeps a live one's, and anything that is not a folder", async () => {
		const gone = spawnSync(process.execPath, ['-e', '']).pid!;
		const left = join(tmpdir(), `hosted-inbox-receiving-${gone}-abc123`);
		mkdirSync(left, { recursive: true });
		writeFileSync(join(left, 'half-a-message'), 'From: x');
		// A container restarted in place keeps /tmp and often the pid: a folder with this pid is not this process's yet.
		const samePid = join(tmpdir(), `hosted-inbox-receiving-${process.pid}-Zz9Zz9`);
		mkdirSync(samePid, { recursive: true });
		const live = join(tmpdir(), `hosted-inbox-receiving-${process.ppid}-abc123`);
		mkdirSync(live, { recursive: true });
		const target = mkdtempSync(join(tmpdir(), 'not-ours-'));
		const link = join(tmpdir(), `hosted-inbox-receiving-${gone}-link12`);
		symlinkSync(target, link);
		const received = await receiveMessage(streamOf([randomBytes(IN_MEMORY_BYTES + 1)]), () => true);
		received.discard();
		expect(existsSync(left)).toBe(false);
		expect(existsSync(samePid)).toBe(false);
		expect(existsSync(live)).toBe(true);
		expect(existsSync(link) && existsSync(target)).toBe(true);
		rmSync(live, { recursive: true });
		rmSync(link);
		rmSync(target, { recursive: true });
	});

	it('writes in a folder of its own that nobody else may enter, named beyond guessing', () => {
		const folder = receivingFolder();
		expect(folder).toMatch(new RegExp(`hosted-inbox-receiving-${process.pid}-[A-Za-z0-9]{6}$`));
		expect(statSync(folder).mode & 0o777).toBe(0o700);
	});

	it('makes its folder again when something (a temp cleaner) removed it', async () => {
		rmSync(receivingFolder(), { recursive: true, force: true });
		const received = await receiveMessage(streamOf([randomBytes(IN_MEMORY_BYTES + 1)]), () => true);
		expect((await readAll(received.message!)).length).toBe(IN_MEMORY_BYTES + 1);
		received.discard();
	});

	it('reads a client to its end when the disk fails (full) mid-message, then fails (451) and leaves no file', async () => {
		// A process may write files of at most 1 MB: past that each write fails (EFBIG), as on a full disk (ENOSPC).
		const child = spawnSync('bash', ['-c', `ulimit -f 1024; exec "${process.execPath}" "${REGISTER_TS}" "${join(__dirname, 'children', 'disk-full.ts')}"`], { encoding: 'utf8', timeout: 60_000 });
		expect(JSON.parse(child.stdout.trim())).toEqual({ error: 'EFBIG', clientEnded: true, files: 0 });
	});

	it('keeps a small message in memory: no file at all', async () => {
		const message = randomBytes(IN_MEMORY_BYTES);
		const received = await receiveMessage(streamOf([message.subarray(0, 1000), message.subarray(1000)]), () => true);
		expect((await readAll(received.message!)).equals(message)).toBe(true);
		expect(readdirSync(receivingFolder())).toHaveLength(0);
	});

	it('writes a larger one to a file, every byte as sent (those kept in memory first included), and removes it when told', async () => {
		const pieces = Array.from({ length: 40 }, () => randomBytes(64 * 1024 + 7));
		const received = await receiveMessage(streamOf(pieces), () => true);
		expect(received.size).toBe(40 * (64 * 1024 + 7));
		expect((await readAll(received.message!)).equals(Buffer.concat(pieces))).toBe(true);
		expect(readdirSync(receivingFolder())).toHaveLength(1);
		received.discard();
		expect(readdirSync(receivingFolder())).toHaveLength(0);
	});

	it('past the first refused piece only counts to the end, and leaves no file', async () => {
		const pieces = Array.from({ length: 10 }, () => Buffer.alloc(1000, 0x61));
		const received = await receiveMessage(streamOf(pieces), (_chunk, sizeSoFar) => sizeSoFar <= 4000);
		expect(received.size).toBe(10_000);
		expect(received.message).toBeNull();
		expect(readdirSync(receivingFolder())).toHaveLength(0);
	});

	it('past the first refused piece of a large message drops the file it was writing', async () => {
		const pieces = Array.from({ length: 10 }, () => randomBytes(IN_MEMORY_BYTES));
		const received = await receiveMessage(streamOf(pieces), (_chunk, sizeSoFar) => sizeSoFar <= 4 * IN_MEMORY_BYTES);
		expect(received).toMatchObject({ size: 10 * IN_MEMORY_BYTES, message: null });
		expect(readdirSync(receivingFolder())).toHaveLength(0);
	});

	it.each([
		['small', 100],
		['large', 3 * IN_MEMORY_BYTES],
	])('fails when the client stream fails mid-message (%s), and leaves no file', async (_name, before) => {
		let sent = false;
		const failing = new Readable({
			read() {
				if (sent) this.destroy(new Error('connection reset'));
				else this.push(randomBytes(before));
				sent = true;
			},
		});
		await expect(receiveMessage(failing, () => true)).rejects.toThrow('connection reset');
		expect(readdirSync(receivingFolder())).toHaveLength(0);
	});
});
