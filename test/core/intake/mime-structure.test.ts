import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { zoneResolver } from '../../../core/dns';
import { runChecks } from '../../../core/intake/pipeline';
import { fileBytes } from '../../../core/message-bytes';
import { testInbox } from '../../fixtures/mail';

/** Open descriptors of this process on the file (Linux: /proc/self/fd). */
function openOn(path: string): number {
	return readdirSync('/proc/self/fd').filter((fd) => {
		try {
			return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
		} catch {
			return false;
		}
	}).length;
}

const settle = async () => {
	for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('the MIME structure pass over a message read from its file', () => {
	const folder = mkdtempSync(join(tmpdir(), 'hi-structure-'));
	afterAll(() => rmSync(folder, { recursive: true, force: true }));

	it('leaves no descriptor open on the file (its disk space held) when the sender made the splitter give up (1001 parts)', async () => {
		const parts = Array.from({ length: 1001 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
		const raw = Buffer.from(
			`From: a@sender.test\r\nTo: support@inbox.example.test\r\nSubject: many parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${'x'.repeat(300 * 1024)}\r\n${parts}--b--\r\n`,
		);
		const path = join(folder, 'message');
		writeFileSync(path, raw);
		const outcome = await runChecks(fileBytes(path, raw.length), { inbox: testInbox(), resolver: zoneResolver({}), envelope: { clientIp: '203.0.113.9' } });
		expect(outcome.result.verdict.flags).toContain('mime-parse-error');
		await settle();
		expect(openOn(path)).toBe(0);
	});
});
