import { Readable } from 'node:stream';

import { zoneResolver } from '../../../core/dns';
import { MessageReadError } from '../../../core/errors';
import { createIntakeDoor } from '../../../core/intake/door';
import { decisionOf, rereadDecided, runChecks } from '../../../core/intake/pipeline';
import { bytesOf, type MessageBytes } from '../../../core/message-bytes';
import { compose, testInbox, testWorld } from '../../fixtures/mail';

const world = testWorld();
const envelope = { clientIp: '203.0.113.9', helo: 'mx.elsewhere.test', mailFrom: 'carol@customer.test', rcpt: ['support@inbox.example.test'] };

/** The message as a file being received or the spool is: its first read works, every later one fails as a disk can (EIO). */
function failingAfterFirstRead(raw: Buffer): MessageBytes {
	const memory = bytesOf(raw);
	let opened = 0;
	return {
		size: raw.length,
		open(start = 0) {
			if (opened++ === 0) return memory.open(start);
			const stream = new Readable({ read() {} });
			process.nextTick(() => stream.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })));
			return stream;
		},
	};
}

describe('a read failure of our own copy of the message is local trouble, never a verdict on the sender', () => {
	it('fails the checks of a spoofed p=reject message whose bytes could not be read back (the door answers 451), instead of accepting it', async () => {
		const raw = await compose({ from: 'Carol <carol@customer.test>', to: 'support@inbox.example.test', subject: 'Order late', text: 'Where is my order?' });
		const readable = await runChecks(raw, { inbox: testInbox(), resolver: zoneResolver(world.zone), envelope });
		expect(readable.result.verdict.action).toBe('reject');

		await expect(runChecks(failingAfterFirstRead(raw), { inbox: testInbox(), resolver: zoneResolver(world.zone), envelope })).rejects.toThrow(MessageReadError);
		const door = createIntakeDoor({ door: 'cli', as: 'smtp', inbox: testInbox(), resolver: zoneResolver(world.zone) });
		await expect(door({ raw: failingAfterFirstRead(raw), envelope })).rejects.toThrow('could not be read back');
	});

	it('does not emit a spooled message as its header section alone when the spool could not be read: it fails, to be retried', async () => {
		const raw = await compose({ from: 'Carol <carol@customer.test>', to: 'support@inbox.example.test', subject: 'Order late', text: 'Where is my order?' });
		const decided = await runChecks(raw, { inbox: testInbox(), resolver: zoneResolver(world.zone), envelope });
		await expect(rereadDecided(failingAfterFirstRead(raw), decisionOf(decided.result))).rejects.toThrow(MessageReadError);
	});
});
