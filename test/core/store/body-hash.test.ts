import { createHash } from 'node:crypto';

import { bodyHash } from '../../../core/store/message-id';

/** The hash as it was computed on a whole body in memory (the hashes stored so far): the oracle. */
function wholeBodyHash(body: Buffer): string {
	const text = Buffer.from(body.toString('latin1'), 'utf8');
	let end = text.length;
	while (end > 0 && text[end - 1] === 0x0a) end -= end > 1 && text[end - 2] === 0x0d ? 2 : 1;
	const bytes: number[] = [];
	for (let i = 0; i < end; i++) if (!(text[i] === 0x0d && i + 1 < end && text[i + 1] === 0x0a)) bytes.push(text[i]);
	return createHash('sha256').update(Buffer.from(bytes)).update('\u0000').digest('hex');
}

async function* pieces(body: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
	let at = 0;
	for (const cut of [...cuts, body.length]) {
		yield body.subarray(at, Math.max(at, cut));
		at = Math.max(at, cut);
	}
}

// A small deterministic generator: the same cases each run.
function random(seed: number): () => number {
	let state = seed;
	return () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('bodyHash (read as a stream)', () => {
	const alphabet = ['a', 'é', '\r', '\n', '\r\n', ' ', '\x80', '\xff'];

	it('equals the whole-body hash however the body is cut into pieces', async () => {
		const next = random(18);
		for (let round = 0; round < 400; round++) {
			const body = Buffer.from(Array.from({ length: Math.floor(next() * 24) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''), 'latin1');
			const cuts = Array.from({ length: Math.floor(next() * 5) }, () => Math.floor(next() * (body.length + 1))).sort((a, b) => a - b);
			expect([body.toString('hex'), cuts, await bodyHash(pieces(body, cuts))]).toEqual([body.toString('hex'), cuts, wholeBodyHash(body)]);
		}
	});

	it('does not count line endings or trailing blank lines, cut anywhere', async () => {
		const crlf = Buffer.from('Hello\r\nthere\r\n\r\n\r\n');
		const lf = Buffer.from('Hello\nthere\n');
		expect(await bodyHash(pieces(crlf, [6, 13, 14]))).toBe(await bodyHash(pieces(lf, [])));
		expect(await bodyHash(pieces(Buffer.from('a\r'), [1]))).not.toBe(await bodyHash(pieces(Buffer.from('a'), [])));
	});

	it('holds a count, not the bytes, of a long run of line feeds', async () => {
		const run = Buffer.concat([Buffer.from('x'), Buffer.alloc(3 * 1024 * 1024, 0x0a), Buffer.from('y')]);
		expect(await bodyHash(pieces(run, [1, 1024 * 1024, 2 * 1024 * 1024]))).toBe(wholeBodyHash(run));
	});

	it('hashes a body handed over in one large buffer (an IMAP fetch) as its pieces, a CRLF across its 64 KB slices included', async () => {
		const next = random(64);
		const body = Buffer.from(Array.from({ length: 200 * 1024 }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''), 'latin1');
		// A CR as the last byte of the first 64 KB slice, its LF the first of the next.
		body[64 * 1024 - 1] = 0x0d;
		body[64 * 1024] = 0x0a;
		expect(await bodyHash([body])).toBe(wholeBodyHash(body));
	});
});
