import { randomBytes } from 'node:crypto';

import { isEmailAddress } from '../../../core/address';
import { decisionOf, NotAnEmailError, rereadDecided, runChecks, INTAKE_STAGES } from '../../../core/intake/pipeline';
import { zoneResolver } from '../../../core/dns';
import { ItemShapeError } from '../../../core/item';
import { bytesOf } from '../../../core/message-bytes';
import { compose, sign, testInbox, testWorld } from '../../fixtures/mail';
import { explain } from '../../fixtures/intake';

const inbox = testInbox();
const head = 'From: Carol <carol@customer.test>\r\nTo: support@inbox.example.test\r\nSubject: x\r\nMessage-ID: <A.1@Customer.TEST>\r\n';

describe('pipeline', () => {
	it('declares its stages in order in one place', () => {
		expect(INTAKE_STAGES.map((s) => s.name)).toEqual(['size', 'parse', 'authenticate', 'classify', 'original-sender', 'thread-keys']);
	});

	it('rejects 552 5.3.4 a message over the inbox limit without parsing its body', async () => {
		const raw = await compose({ from: 'carol@customer.test', to: inbox.address, subject: 'big', text: 'x', attachments: [{ filename: 'a.bin', content: randomBytes(200_000) }] });
		const r = await explain(raw, testInbox({ maxMessageBytes: 100_000 }), {});
		expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 552, enhancedCode: '5.3.4' });
		expect(r.verdict.reasons[0]).toContain("over this inbox's limit of 100000 bytes");
		expect(r.originalSender?.address).toBe('carol@customer.test');
		expect(r.auth).toBeNull();
	});

	it('normalises thread keys', async () => {
		const raw = Buffer.from(`${head}In-Reply-To: <p.1@Example.COM> <p.2@example.com>\r\nReferences: <r.1@X.org>\r\n bare-ref <p.1@Example.COM>\r\n\r\nbody\r\n`);
		const r = await explain(raw, inbox, {});
		expect(r.thread).toEqual({
			messageId: 'A.1@customer.test',
			inReplyTo: ['p.1@example.com', 'p.2@example.com'],
			references: ['r.1@x.org', 'bare-ref', 'p.1@example.com'],
			contentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
		});
	});

	it('hashes the body, so a copy with added trace headers or other line ends is the same content and another body is not', async () => {
		const hash = async (raw: string) => (await explain(Buffer.from(raw), inbox, {})).thread.contentHash;
		const original = await hash(`${head}\r\nThe box was crushed.\r\n`);
		expect(await hash(`Received: from relay.example.net by mx.example.net; Mon, 3 Mar 2025 08:01:00 +0000\r\nARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=a; b=x\r\n${head}\r\nThe box was crushed.\r\n`)).toBe(original);
		expect(await hash(`${head}\r\nThe box was crushed.\r\n`.replace(/\r\n/g, '\n') + '\n\n')).toBe(original);
		expect(await hash(`${head}\r\nThe box was crushed!\r\n`)).not.toBe(original);
	});

	describe('junk before the header section', () => {
		const world = testWorld();
		const signed = async () => await sign(await compose({ from: 'carol@customer.test', to: inbox.address, subject: 'Order 42', text: 'The box was crushed.' }), world.customer);

		it.each([
			['blank lines', '\r\n\r\n', 'blank or indented lines'],
			['a line of spaces', '   \n', 'blank or indented lines'],
			['an indented line', '\tX-Stray: continued from nothing\r\n', 'blank or indented lines'],
			['an mbox From line', 'From carol@customer.test  Mon Mar  3 08:00:00 2025\n', 'an mbox "From " line'],
			['a byte-order mark', '\uFEFF', 'a byte-order mark'],
		])('reads and authenticates the message after %s, and flags what was skipped', async (_label, prefix, what) => {
			const message = await signed();
			const r = await explain(Buffer.concat([Buffer.from(prefix), message]), inbox, world.zone);
			expect(r.verdict.action).toBe('accept');
			expect(r.verdict.flags).toEqual(['leading-junk-skipped']);
			expect(r.verdict.reasons).toContain(`${Buffer.byteLength(prefix)} bytes before the header section (${what}) were skipped: the message was read and authenticated from its first header field on`);
			expect(r.auth?.dkim.signatures[0]).toMatchObject({ domain: 'customer.test', result: 'pass' });
			expect(r.message).toMatchObject({ subject: 'Order 42', from: { address: 'carol@customer.test' } });
			expect(r.size).toBe(Buffer.byteLength(prefix) + message.length);
			expect(r.thread.contentHash).toBe((await explain(message, inbox, world.zone)).thread.contentHash);
		});

		it('reads a header field named "From " as the header section, not as an mbox line', async () => {
			const r = await explain(Buffer.from('From : Carol <carol@customer.test>\r\nSubject: x\r\n\r\nbody\r\n'), inbox, {});
			expect(r.message?.subject).toBe('x');
			expect(r.verdict.flags).not.toContain('leading-junk-skipped');
		});

		it.each([
			['words before the header section', Buffer.from(`Hello there\r\n${head}\r\nbody\r\n`)],
			['two mbox From lines', Buffer.from(`From a@b.test Mon\nFrom a@b.test Mon\n${head}\r\nbody\r\n`)],
			['64 KB of blank lines before it', Buffer.from(`${'\r\n'.repeat(32 * 1024)}${head}\r\nbody\r\n`)],
			['spaces and tabs only', Buffer.from(' \t\r\n'.repeat(5000))],
		])('is still not an email with %s', async (_label, raw) => {
			await expect(runChecks(raw, { inbox, resolver: zoneResolver({}) })).rejects.toBeInstanceOf(NotAnEmailError);
		});
	});

	describe('NUL and control characters in decoded values', () => {
		const b64 = (text: string) => `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;

		it('accepts a NUL in the body, replaced by U+FFFD in the text and HTML and flagged', async () => {
			const part = (type: string, body: string) => `--b\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`;
			const raw = Buffer.from(`${head}Content-Type: multipart/alternative; boundary=b\r\n\r\n${part('text/plain', 'before\0after')}${part('text/html', '<p>a\0b</p>')}--b--\r\n`);
			const r = await explain(raw, inbox, {});
			expect(r.verdict.action).toBe('accept');
			expect(r.verdict.flags).toEqual(['nul-replaced']);
			expect(r.message?.text).toBe('before\uFFFDafter');
			expect(r.message?.html).toBe('<p>a\uFFFDb</p>');
		});

		it('reads a spooled message again exactly as it was decided: the same junk skipped, the same values cleaned, no flag twice', async () => {
			const raw = Buffer.from(`From carol@customer.test  Mon Mar  3 08:00:00 2025\n${head.replace('Subject: x', 'Subject: =?UTF-8?B?YQ0KQmNjOiB4?=')}\r\nbefore\0after\r\n`);
			const first = await runChecks(raw, { inbox, resolver: zoneResolver({}) });
			expect(first.result.verdict.flags).toEqual(expect.arrayContaining(['leading-junk-skipped', 'nul-replaced', 'control-characters-folded']));
			const again = await rereadDecided(bytesOf(raw), decisionOf(first.result));
			expect(again.result).toEqual(first.result);
		});

		it('refuses a spooled decision of another shape (an older version wrote it), naming what does not fit', async () => {
			const raw = Buffer.from(`${head}\r\nbody\r\n`);
			const decided = decisionOf((await runChecks(raw, { inbox, resolver: zoneResolver({}) })).result);
			const { thread: _thread, ...withoutThread } = decided;
			const older = { ...withoutThread, verdict: { ...decided.verdict, action: 'bounce' } } as unknown as typeof decided;
			const refused = rereadDecided(bytesOf(raw), older);
			await expect(refused).rejects.toBeInstanceOf(ItemShapeError);
			await expect(refused).rejects.toThrow(/the decision kept with a spooled message \(re-drive it with a re-check to decide it anew\).*verdict\.action.*missing field "thread"/);
		});

		it('accepts a raw NUL in the header section (a NUL before 64 KB no longer means binary)', async () => {
			const r = await explain(Buffer.from(`${head}X-Note: a\0b\r\n\r\nbody\r\n`), inbox, {});
			expect(r.verdict.action).toBe('accept');
			expect(r.message?.subject).toBe('x');
		});

		it('folds CR/LF, NUL and other control characters of encoded subjects and names to spaces, and flags it', async () => {
			const raw = Buffer.from(
				`From: ${b64('Carol\r\nBcc: all@example.test')} <carol@customer.test>\r\nTo: ${b64('Sup\0port')} <${inbox.address}>\r\nSubject: ${b64('Order\0 42\r\nBcc: all@example.test\x07')}\r\n` +
					`Message-ID: <c.1@customer.test>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name="${b64('a\r\nb.pdf')}"\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--\r\n`,
			);
			const r = await explain(raw, inbox, {});
			expect(r.verdict.action).toBe('accept');
			expect(r.verdict.flags).toEqual(['control-characters-folded']);
			expect(r.message?.subject).toBe('Order  42  Bcc: all@example.test ');
			expect(r.message?.from).toEqual({ address: 'carol@customer.test', name: 'Carol  Bcc: all@example.test' });
			expect(r.message?.to).toEqual([{ address: inbox.address, name: 'Sup port' }]);
			expect(r.message?.attachments[0].filename).toBe('a  b.pdf');
			expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', name: 'Carol  Bcc: all@example.test' });
		});

		it('takes no address with a control character in it', async () => {
			expect(isEmailAddress('carol\0@customer.test')).toBe(false);
			expect(isEmailAddress('carol@customer.test\r')).toBe(false);
			// The address parser drops a raw NUL of an address, as written and as decoded alike.
			const r = await explain(Buffer.from(`From: carol\0@customer.test\r\nTo: ${inbox.address}\r\nSubject: x\r\n\r\nbody\r\n`), inbox, {});
			expect(r.message?.from?.address).toBe('carol@customer.test');
		});

		it('keeps the line breaks, tabs and other controls of the body text (only NUL is replaced)', async () => {
			const r = await explain(Buffer.from(`${head}\r\nline one\r\n\tline two\x07\r\n`), inbox, {});
			expect(r.verdict.flags).toEqual([]);
			expect(r.message?.text).toBe('line one\n\tline two\x07\n');
		});
	});

	describe('bad input', () => {
		it.each([
			['empty input', Buffer.alloc(0)],
			['binary input', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), randomBytes(4096)])],
			['no header section', Buffer.from('just some words\nand more words\n')],
		])('throws NotAnEmailError for %s', async (_label, raw) => {
			await expect(runChecks(raw, { inbox, resolver: zoneResolver({}) })).rejects.toBeInstanceOf(NotAnEmailError);
		});

		it('quarantines a message with no From, filed under no contact', async () => {
			const r = await explain(Buffer.from('To: support@inbox.example.test\r\nSubject: hi\r\n\r\nbody\r\n'), inbox, {}, { mailFrom: 'someone@example.test' });
			expect(r.verdict).toMatchObject({ action: 'quarantine', smtpCode: 250 });
			expect(r.verdict.flags).toContain('from-not-one-mailbox');
			expect(r.verdict.reasons[0]).toContain('the message has no From header');
			expect(r.originalSender).toMatchObject({ address: null, trusted: false });
			expect(r.message?.from).toBeNull();
		});

		it('rejects a 2 MB header section with a reason, still naming the sender', async () => {
			const filler = Array.from({ length: 20_000 }, (_, i) => `X-Filler-${i}: ${'a'.repeat(95)}`).join('\r\n');
			const r = await explain(Buffer.from(`${head}${filler}\r\n\r\nbody\r\n`), inbox, {});
			expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 552, enhancedCode: '5.3.4' });
			expect(r.verdict.flags).toContain('header-too-large');
			expect(r.originalSender?.address).toBe('carol@customer.test');
		});

		it('accepts a 1 MB line', async () => {
			const r = await explain(Buffer.from(`${head}\r\n${'a'.repeat(1024 * 1024)}\r\n`), inbox, {});
			expect(r.verdict.action).toBe('accept');
			expect(r.message?.text.length).toBeGreaterThan(1024 * 1024 - 10);
		});

		it('flags a MIME tree 500 levels deep', async () => {
			let body = `${head}MIME-Version: 1.0\r\n`;
			let tail = '';
			for (let i = 0; i < 500; i++) {
				body += `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`;
				tail = `\r\n--b${i}--\r\n${tail}`;
			}
			const r = await explain(Buffer.from(`${body}Content-Type: text/plain\r\n\r\nhello${tail}`), inbox, {});
			expect(r.verdict.flags).toContain('mime-too-deep');
			expect(r.verdict.reasons.join(' ')).toContain('levels deep');
		});

		it('names an attachment whose declared encoding lies', async () => {
			const raw = Buffer.from(
				`${head}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="a.pdf"\r\n\r\n%PDF-1.4 this is not base64 at all!!! ###\r\n--x--\r\n`,
			);
			const r = await explain(raw, inbox, {});
			expect(r.verdict.action).toBe('accept');
			expect(r.verdict.flags).toContain('bad-transfer-encoding');
			expect(r.verdict.reasons.join(' ')).toContain('"a.pdf") declares Content-Transfer-Encoding base64');
		});
	});
});
