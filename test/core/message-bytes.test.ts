import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fileBytes, readAll } from '../../core/message-bytes';

describe('message bytes in a file', () => {
	const folder = mkdtempSync(join(tmpdir(), 'hi-message-bytes-'));
	afterAll(() => rmSync(folder, { recursive: true, force: true }));
	const openFiles = () => readdirSync('/proc/self/fd').length;

	it('reads from any offset, the file opened only by the first read: a stream destroyed unread leaves no descriptor open', async () => {
		const message = randomBytes(300_000);
		const path = join(folder, 'message.eml');
		writeFileSync(path, message);
		const bytes = fileBytes(path, message.length);
		expect((await readAll(bytes)).equals(message)).toBe(true);
		const fromOffset: Buffer[] = [];
		for await (const piece of bytes.open(123_456) as AsyncIterable<Buffer>) fromOffset.push(piece);
		expect(Buffer.concat(fromOffset).equals(message.subarray(123_456))).toBe(true);

		const before = openFiles();
		for (let i = 0; i < 10; i++) bytes.open().destroy();
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(openFiles()).toBe(before);
	});

	it('reports a file gone before it is read as an error of the stream', async () => {
		const stream = fileBytes(join(folder, 'gone.eml'), 10).open();
		await expect(new Promise((resolve, reject) => stream.on('error', reject).on('end', resolve).resume())).rejects.toMatchObject({ code: 'ENOENT' });
	});
});
