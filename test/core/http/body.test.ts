/** Reading a posted body: its deadlines count the client's silence, not the time our own sink holds the body back. */
import { PassThrough, Writable } from 'node:stream';

import { pumpCapped } from '../../../core/http/body';

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
});
