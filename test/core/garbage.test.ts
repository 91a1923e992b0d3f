import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { withCollectionsWatched } from '../support/young-collections';
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
		await withCollectionsWatched(async (gc) => {
			const { fileBytes, readAll } = await import('../../core/message-bytes');
			expect((await readAll(fileBytes(path, message.length))).equals(message)).toBe(true);
			expect(gc.mock.calls).toEqual([[{ type: 'minor', execution: 'sync' }], [{ type: 'minor', execution: 'sync' }]]);
		});
	});

	it('leaves mail under 64 KB to V8, however much of it is read; a message of 64 KB read from memory is counted', async () => {
		await withCollectionsWatched(async (gc) => {
			const { bytesOf, readAll, readFrom } = await import('../../core/message-bytes');
			const small = randomBytes(64 * 1024 - 1);
			// 12 MB of small messages, each read twice (as a stream, and handed over whole).
			for (let n = 0; n < 96; n++) {
				expect((await readAll(bytesOf(small))).equals(small)).toBe(true);
				expect((readFrom(bytesOf(small)) as Buffer).equals(small)).toBe(true);
			}
			expect(gc).not.toHaveBeenCalled();
			const large = randomBytes(64 * 1024);
			for (let n = 0; n < 64; n++) readFrom(bytesOf(large));
			expect(gc).toHaveBeenCalledTimes(1);
		});
	});

	it("takes V8's collector in a process started without --expose-gc: a young-generation collection is run, and no later context sees it", () => {
		// A collection we asked for is the one V8 reports as forced; the collector's own never are.
		const script = `
			const { PerformanceObserver, constants } = require('node:perf_hooks');
			const { runInNewContext } = require('node:vm');
			const { noteBytesRead } = require('./core/garbage');
			const forced = [];
			const observer = new PerformanceObserver((list) => {
				for (const entry of list.getEntries()) if (entry.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) forced.push(entry.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : 'other');
			});
			observer.observe({ entryTypes: ['gc'] });
			noteBytesRead(4 * 1024 * 1024 - 1);
			setTimeout(() => {
				const before = forced.length;
				noteBytesRead(1);
				setTimeout(() => {
					observer.disconnect();
					console.log(JSON.stringify({ before, after: forced, inNewContext: runInNewContext('typeof gc'), global: typeof gc }));
				}, 50);
			}, 50);
		`;
		const child = spawnSync(process.execPath, ['-r', REGISTER_TS, '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
		expect(child.stderr).toBe('');
		expect(JSON.parse(child.stdout)).toEqual({ before: 0, after: ['minor'], inNewContext: 'undefined', global: 'undefined' });
	});
});
