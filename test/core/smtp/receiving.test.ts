import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { readAll } from '../../../core/message-bytes';
import { receiveToFile } from '../../../core/smtp/receiving';

const folder = join(tmpdir(), `hosted-inbox-receiving-${process.pid}`);

function streamOf(pieces: Buffer[]): Readable {
	return Readable.from(pieces, { objectMode: false });
}

describe('receiveToFile: a message written to a file as it arrives', () => {
	// First, before this process made its folder: the folder a killed process left is removed.
	it("removes the folder of a process that is gone, with what it was receiving, and keeps a live one's", async () => {
		const gone = spawnSync(process.execPath, ['-e', '']).pid!;
		const left = join(tmpdir(), `hosted-inbox-receiving-${gone}`);
		mkdirSync(left, { recursive: true });
		writeFileSync(join(left, 'half-a-message'), 'From: x');
		const live = join(tmpdir(), `hosted-inbox-receiving-${process.ppid}`);
		mkdirSync(live, { recursive: true });
		const received = await receiveToFile(streamOf([Buffer.from('x')]), () => true);
		received.discard();
		expect(existsSync(left)).toBe(false);
		expect(existsSync(live)).toBe(true);
	});

	it('keeps every byte as sent, read back as a stream, and removes the file when told', async () => {
		const pieces = Array.from({ length: 40 }, () => randomBytes(64 * 1024 + 7));
		const received = await receiveToFile(streamOf(pieces), () => true);
		expect(received.size).toBe(40 * (64 * 1024 + 7));
		expect((await readAll(received.message!)).equals(Buffer.concat(pieces))).toBe(true);
		expect(readdirSync(folder)).toHaveLength(1);
		received.discard();
		expect(readdirSync(folder)).toHaveLength(0);
	});

	it('past the first refused piece only counts to the end, and leaves no file', async () => {
		const pieces = Array.from({ length: 10 }, () => Buffer.alloc(1000, 0x61));
		const received = await receiveToFile(streamOf(pieces), (_chunk, sizeSoFar) => sizeSoFar <= 4000);
		expect(received.size).toBe(10_000);
		expect(received.message).toBeNull();
		expect(readdirSync(folder)).toHaveLength(0);
	});

	it('fails when the client stream fails, and leaves no file', async () => {
		const failing = new Readable({
			read() {
				this.push(Buffer.from('From: x\r\n'));
				this.destroy(new Error('connection reset'));
			},
		});
		await expect(receiveToFile(failing, () => true)).rejects.toThrow('connection reset');
		expect(readdirSync(folder)).toHaveLength(0);
	});
});
