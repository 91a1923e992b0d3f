import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';

import { KEPT_ATTACHMENT_BYTES, parseMessage } from '../../../../core/intake/stages/parse';
import { compose } from '../../../fixtures/mail';

const MB = 1024 * 1024;

/** A stream of `message` in 64 KB pieces, as a file or the spool hands it on. */
function streamOf(message: Buffer): Readable {
	return Readable.from(
		(function* () {
			for (let at = 0; at < message.length; at += 64 * 1024) yield message.subarray(at, at + 64 * 1024);
		})(),
		{ objectMode: false },
	);
}

describe('parseMessage: mailparser over a stream, no attachment held', () => {
	it('gives the text and headers as simpleParser does, each attachment by size with no bytes kept', async () => {
		const file = randomBytes(3 * MB);
		const raw = await compose({ from: 'ann@sender.test', to: 'support@inbox.test', subject: 'big', text: 'see attached', attachments: [{ filename: 'big.bin', content: file }, { filename: 'small.txt', content: 'hello' }] });
		const parsed = await parseMessage(streamOf(raw));
		expect(parsed.subject).toBe('big');
		expect(parsed.text?.trim()).toBe('see attached');
		expect(parsed.attachments.map((a) => [a.filename, a.size, a.content.length])).toEqual([
			['big.bin', file.length, 0],
			['small.txt', 5, 0],
		]);
	});

	it('hands each attachment to the reader as a stream, in order, the bytes exactly as sent', async () => {
		const file = randomBytes(2 * MB);
		const raw = await compose({ from: 'ann@sender.test', to: 'support@inbox.test', subject: 'files', text: 'x', attachments: [{ filename: 'a.bin', content: file }, { filename: 'b.txt', content: 'second' }] });
		const read: Array<[number, string | undefined, Buffer]> = [];
		await parseMessage(streamOf(raw), { read: async (attachment, index) => void read.push([index, attachment.filename, await buffer(attachment.content)]) });
		expect(read.map(([index, name]) => [index, name])).toEqual([
			[0, 'a.bin'],
			[1, 'b.txt'],
		]);
		expect(read[0][2].equals(file)).toBe(true);
		expect(read[1][2].toString()).toBe('second');
	});

	it('keeps the start of forwarded messages and reports only, at most KEPT_ATTACHMENT_BYTES for all of them', async () => {
		const forwarded = await compose({ from: 'carol@customer.test', to: 'agent@company.test', subject: 'original', text: 'x'.repeat(KEPT_ATTACHMENT_BYTES) });
		const raw = await compose({
			from: 'agent@company.test',
			to: 'support@inbox.test',
			subject: 'Fwd: original',
			text: 'forwarding',
			attachments: [
				{ filename: 'one.eml', content: forwarded, contentType: 'message/rfc822' },
				{ filename: 'two.eml', content: forwarded, contentType: 'message/rfc822' },
			],
		});
		const parsed = await parseMessage(streamOf(raw));
		const [one, two] = parsed.attachments;
		expect(one.content.length).toBe(KEPT_ATTACHMENT_BYTES);
		expect(one.content.toString('latin1')).toContain('From: carol@customer.test');
		expect(two.content.length).toBe(0);
		expect([one.size, two.size]).toEqual([forwarded.length, forwarded.length]);
	});

	it('rejects when the stream it reads fails, instead of parsing what came before as the whole message', async () => {
		const failing = new Readable({
			read() {
				this.push(Buffer.from('From: ann@sender.test\r\nSubject: cut\r\n\r\nstart of the body'));
				this.destroy(new Error('the spool could not be read'));
			},
		});
		await expect(parseMessage(failing)).rejects.toThrow('the spool could not be read');
	});
});
