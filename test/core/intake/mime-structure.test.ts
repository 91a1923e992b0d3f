import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { zoneResolver } from '../../../core/dns';
import { MAX_MIME_DEPTH, readMimeStructure, watchMimeStructure } from '../../../core/intake/mime-structure';
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

describe('the parse of a message read from its file', () => {
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

/** A message whose innermost multipart (`inner`, its parts and closing line) sits `levels` multiparts deep. */
function deepMessage(inner: string, levels = 40): Buffer {
	let head = 'From: a@sender.test\r\nTo: support@inbox.example.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n';
	let tail = '';
	for (let i = 0; i < levels; i++) {
		head += `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`;
		tail = `\r\n--b${i}--\r\n${tail}`;
	}
	return Buffer.from(`${head}${inner}${tail}`);
}

describe('the MIME structure, watched as the parse reads the message once', () => {
	const folder = mkdtempSync(join(tmpdir(), 'hi-structure-once-'));
	afterAll(() => rmSync(folder, { recursive: true, force: true }));

	const lyingPdf = `Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nthe words\r\n--x\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${'%PDF-1.4 not base64 ###\r\n'.repeat(20000)}--x--\r\n`;

	it('stops reading a tree deeper than 32 levels (mailsplit checks each line against every enclosing boundary): the parts below are not read', async () => {
		const { result } = await runChecks(deepMessage(lyingPdf), { inbox: testInbox(), resolver: zoneResolver({}), envelope: { clientIp: '203.0.113.9' } });
		expect(result.verdict.flags).toEqual(expect.arrayContaining(['mime-too-deep', 'mime-parse-error']));
		expect(result.verdict.reasons.join(' ')).toContain('more than 32 levels deep');
		expect(result.message?.subject).toBe('deep');
		expect(result.message?.text ?? '').not.toContain('the words');
	});

	it('names a lying encoding in a message read from its file, with the body parsed in the same read', async () => {
		const raw = deepMessage(lyingPdf, 30);
		const path = join(folder, 'message');
		writeFileSync(path, raw);
		const bytes = fileBytes(path, raw.length);
		let opened = 0;
		const counted = { size: bytes.size, open: (start?: number) => (opened++, bytes.open(start)) };
		const { result } = await runChecks(counted, { inbox: testInbox(), resolver: zoneResolver({}), envelope: { clientIp: '203.0.113.9' } });
		expect(result.verdict.flags).toContain('bad-transfer-encoding');
		expect(result.verdict.flags).not.toContain('mime-too-deep');
		expect(result.verdict.reasons.join(' ')).toContain('part 33 (application/pdf, "a.pdf") declares Content-Transfer-Encoding base64');
		expect(result.message?.text).toContain('the words');
		// The first bytes, the parse (structure watched in it), DKIM and ARC, the body hash: four reads, not five.
		expect(opened).toBe(4);
	});

	it('stops the pass of its own past 32 levels too (a message the parser gave up on), from memory or from its file', async () => {
		const raw = deepMessage(lyingPdf, 900);
		const path = join(folder, 'deep');
		writeFileSync(path, raw);
		for (const source of [raw, fileBytes(path, raw.length).open()]) {
			const structure = await readMimeStructure(source, 1024 * 1024);
			expect(structure.maxDepth).toBe(MAX_MIME_DEPTH + 1);
			// The lying part sits 900 levels down: never reached.
			expect(structure.encodingProblems).toEqual([]);
		}
		await settle();
		expect(openOn(path)).toBe(0);
	});

	it('still names a lying encoding and a tree too deep that come before the parser gives up (too many parts): read again on their own', async () => {
		// The lying part 31 levels down, the part with too many children six levels below it.
		let nested = `Content-Type: multipart/mixed; boundary="y"\r\n\r\n${'--y\r\nContent-Type: text/plain\r\n\r\nx\r\n'.repeat(1000)}--y--\r\n`;
		for (let i = 0; i < 5; i++) nested = `Content-Type: multipart/mixed; boundary="c${i}"\r\n\r\n--c${i}\r\n${nested}\r\n--c${i}--\r\n`;
		const raw = deepMessage(
			`Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n%PDF not base64 ###\r\n--x\r\n${nested}\r\n--x--\r\n`,
			30,
		);
		const { result } = await runChecks(raw, { inbox: testInbox(), resolver: zoneResolver({}), envelope: { clientIp: '203.0.113.9' } });
		expect(result.verdict.flags).toEqual(expect.arrayContaining(['mime-parse-error', 'mime-too-deep', 'bad-transfer-encoding']));
		expect(result.verdict.reasons.join(' ')).toContain('Max allowed child nodes exceeded');
	});
});

describe("the quoted-printable check on a part's bytes, as the splitter hands them on", () => {
	/** Whether a quoted-printable part whose body arrives as these pieces is named as lying about its encoding. */
	function named(...pieces: string[]): boolean {
		const watch = watchMimeStructure();
		const node = { type: 'node', encoding: 'Quoted-Printable', contentType: 'text/plain', parentNode: null };
		watch.observe(node as unknown as Parameters<typeof watch.observe>[0]);
		for (const piece of pieces) watch.observe({ type: 'body', node, value: Buffer.from(piece, 'latin1') } as unknown as Parameters<typeof watch.observe>[0]);
		return watch.structure.encodingProblems.length > 0;
	}

	it.each([
		['plain ASCII', ['Hello there, nothing encoded']],
		['escapes of either case', ['caf=C3=A9 and caf=c3=a9']],
		['soft line breaks, CRLF or LF', ['a long line=\r\ngoes on=\nand ends']],
		['a piece ending in "=" or "=\\r"', ['split here=', '\r\nnext'], ['and here=\r', '\nnext']],
	])('passes %s', (_name, ...cases) => {
		for (const pieces of cases) expect(named(...pieces)).toBe(false);
	});

	it.each([
		['an 8-bit byte', ['caf\xe9']],
		['"=" before no hex digits', ['=G1'], ['= 1'], ['=A'], ['=A\r\n']],
		['"=" before a CR that ends no line', ['=\rX']],
	])('names %s', (_name, ...cases) => {
		for (const pieces of cases) expect(named(...pieces)).toBe(true);
	});
});
