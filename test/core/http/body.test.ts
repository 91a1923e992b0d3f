/** Reading a posted body: its deadlines count the client's silence, not the time our own sink holds the body back. */
import { PassThrough, Readable, Writable } from 'node:stream';

import { dropRest, FORM_LIMITS, HttpRefusal, pumpCapped, readForm } from '../../../core/http/body';

describe('a posted body read within its deadlines', () => {
	it('is not given up while a slow sink holds it back, though the client sent it all long before', async () => {
		const body = new PassThrough();
		const taken: string[] = [];
		// Takes a chunk every 150 ms, holding one at a time: the body waits on it, past the 100 ms idle deadline.
		const slowSink = new Writable({
			highWaterMark: 1,
			write(chunk: Buffer, _encoding, done) {
				taken.push(chunk.toString());
				setTimeout(done, 150);
			},
		});
		const pumped = pumpCapped(body, 1024, slowSink, { deadlines: { idleMs: 100, wholeMs: 10_000 } });
		for (const part of ['a', 'b', 'c', 'd']) body.write(part);
		body.end();
		await pumped;
		await new Promise((resolve) => slowSink.once('finish', resolve));
		expect(taken.join('')).toBe('abcd');
	});

	it('has the rest of a refused body read and dropped to its end, or until it passes its bound, the client falls silent or the whole deadline passes', async () => {
		const deadlines = { idleMs: 100, wholeMs: 400 };
		const ended = new PassThrough();
		const dropping = dropRest(ended, 2 * 1024 * 1024, deadlines);
		ended.write(Buffer.alloc(1024 * 1024));
		ended.end();
		await dropping;
		expect(ended.readableEnded).toBe(true);

		// Past its bound it stops at once, not at a deadline.
		const over = new PassThrough();
		for (let i = 0; i < 3; i++) over.write(Buffer.alloc(1024 * 1024));
		const overFrom = performance.now();
		await dropRest(over, 1.5 * 1024 * 1024, { idleMs: 60_000, wholeMs: 60_000 });
		expect(performance.now() - overFrom).toBeLessThan(10_000);
		expect(over.readableEnded).toBe(false);

		// A client that falls silent is let go after the idle deadline, one that never stops after the whole one.
		const silent = new PassThrough();
		silent.write('a');
		const silentFrom = performance.now();
		await dropRest(silent, 1024, deadlines);
		const silentFor = performance.now() - silentFrom;
		expect(silentFor).toBeGreaterThanOrEqual(deadlines.idleMs - 5);
		expect(silentFor).toBeLessThan(deadlines.wholeMs);
		const endless = new PassThrough();
		const feeding = setInterval(() => endless.write(Buffer.alloc(1024)), 10);
		const endlessFrom = performance.now();
		await dropRest(endless, 1024 * 1024 * 1024, deadlines);
		clearInterval(feeding);
		expect(performance.now() - endlessFrom).toBeGreaterThanOrEqual(deadlines.wholeMs - 5);
		expect(endless.readableEnded).toBe(false);
	});
});

describe('an urlencoded post (Mailgun posts one for mail without attachments)', () => {
	const form = (body: string | Buffer) => readForm({ headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: Readable.from([Buffer.from(body)]) }, 1024 * 1024);

	it('gives each value as the bytes it escapes ("+" a space, "%XX" any byte), and refuses a "%" before no two hex digits', async () => {
		const fields = await form('body-mime=caf%E9+%c3%A9%2B&percent=100%25&empty=&bare&name%20x=1');
		expect(fields.get('body-mime')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xc3, 0xa9, 0x2b]));
		expect(fields.get('percent')?.toString()).toBe('100%');
		for (const malformed of ['a=%zz', 'a=%4', 'a=%']) await expect(form(malformed)).rejects.toMatchObject({ kind: 'bad-request' });
		expect(fields.get('empty')).toEqual(Buffer.alloc(0));
		expect(fields.get('bare')).toEqual(Buffer.alloc(0));
		expect(fields.get('name x')?.toString()).toBe('1');
	});

	it('keeps the first value of a repeated field, and refuses more fields than a provider sends', async () => {
		expect((await form('token=first&token=second')).get('token')?.toString()).toBe('first');
		const many = Array.from({ length: FORM_LIMITS.fields + 1 }, (_, i) => `f${i}=x`).join('&');
		await expect(form(many)).rejects.toMatchObject({ kind: 'bad-request', message: expect.stringContaining('more parts than a provider sends') });
		await expect(form(many)).rejects.toBeInstanceOf(HttpRefusal);
	});
});
