import { randomBytes } from 'node:crypto';

import { NotAnEmailError, runIntake, INTAKE_STAGES } from '../../../core/intake/pipeline';
import { zoneResolver } from '../../../core/dns';
import { compose, testInbox } from '../../fixtures/mail';
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

	describe('bad input', () => {
		it.each([
			['empty input', Buffer.alloc(0)],
			['binary input', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), randomBytes(4096)])],
			['no header section', Buffer.from('just some words\nand more words\n')],
		])('throws NotAnEmailError for %s', async (_label, raw) => {
			await expect(runIntake(raw, { inbox, resolver: zoneResolver({}) })).rejects.toBeInstanceOf(NotAnEmailError);
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
