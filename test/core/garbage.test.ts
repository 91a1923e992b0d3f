import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { REGISTER_TS } from './store/children/spawn';

const MB = 1024 * 1024;
const ROOT = join(__dirname, '..', '..');

describe('young garbage of message reads', () => {
	const folder = mkdtempSync(join(tmpdir(), 'hi-garbage-'));
	afterAll(() => rmSync(folder, { recursive: true, force: true }));

	it('collects the young generation once every 4 MB a reader hands on, the message read as it was', async () => {
		const message = randomBytes(10 * MB);
		const path = join(folder, 'message.eml');
		writeFileSync(path, message);
		const gc = jest.fn();
		const exposed = (globalThis as { gc?: unknown }).gc;
		(globalThis as { gc?: unknown }).gc = gc;
		try {
			let read: Buffer | undefined;
			await jest.isolateModulesAsync(async () => {
				const { fileBytes, readAll } = await import('../../core/message-bytes');
				read = await readAll(fileBytes(path, message.length));
			});
			expect(read!.equals(message)).toBe(true);
			expect(gc.mock.calls).toEqual([[{ type: 'minor', execution: 'sync' }], [{ type: 'minor', execution: 'sync' }]]);
		} finally {
			(globalThis as { gc?: unknown }).gc = exposed;
		}
	});

	it("takes V8's collector in a process started without --expose-gc: the garbage left is freed, and no later context sees it", () => {
		// 20 MB of 64 KB buffers dropped (as a reader of a message leaves them), well under what makes V8 collect by itself.
		const script = `
			const { runInNewContext } = require('node:vm');
			const outside = () => process.memoryUsage().arrayBuffers;
			const before = outside();
			for (let i = 0; i < 320; i++) Buffer.allocUnsafeSlow(64 * 1024).fill(i);
			const piled = outside() - before;
			require('./core/garbage').noteBytesRead(4 * 1024 * 1024);
			setTimeout(() => console.log(JSON.stringify({ piled, left: outside() - before, inNewContext: runInNewContext('typeof gc'), global: typeof gc })), 50);
		`;
		const child = spawnSync(process.execPath, ['-r', REGISTER_TS, '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
		expect(child.stderr).toBe('');
		const outcome = JSON.parse(child.stdout) as { piled: number; left: number; inNewContext: string; global: string };
		expect(outcome.piled).toBeGreaterThanOrEqual(20 * MB);
		expect(outcome.left).toBeLessThan(2 * MB);
		expect(outcome).toMatchObject({ inNewContext: 'undefined', global: 'undefined' });
	});
	});
});
