
import { zoneResolver } from '../../core/dns';
import { createHttpDoor } from '../../core/http/door';
import { parseInboxConfig } from '../../core/inbox';
import { openStore } from '../../core/store/open';
import type { Store } from '../../core/store/roles';
import { CLI, REGISTER_TS, tokenFile } from '../support/deliver';
import { serve, type Served } from '../support/http-posts';
import { describeWithPostfix, nodeForPipeUser, Postfix } from '../support/postfix';
import { describeEachStore, spooledRaw } from '../support/stores';
import { testWorld } from '../fixtures/mail';

jest.setTimeout(240_000);

const DOMAIN = 'inbox.example.test';
const TOKEN = 'tok_postfix_51c2e8';

/** Until `check` returns something (bounded). */
async function eventually<T>(what: string | (() => string), check: () => Promise<T | null | undefined>, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`${typeof what === 'string' ? what : what()}: not within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

/**
 * An 8-bit message as an MUA sends it: CRLF lines, UTF-8 and Latin-1 bytes in the body, a line starting with a dot
 * (and a Date: Postfix adds one to mail from loopback, which counts as a local submission).
 */
function message(address: string, subject: string): Buffer {
	return Buffer.concat([
		Buffer.from(`From: Ann <ann@sender.test>\r\nTo: ${address}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@sender.test>\r\nDate: Thu, 03 Dec 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`),
		Buffer.from('Grüße aus Köln, ça va? 日本語\r\n.a line starting with a dot\r\n'),
		Buffer.from([0x4c, 0x61, 0x74, 0x69, 0x6e, 0x2d, 0x31, 0x3a, 0x20, 0xe9, 0xe8, 0xfc, 0xff, 0xa0, 0x0d, 0x0a]),
		Buffer.from('end\r\n'),
	]);
}

describeWithPostfix('hosted-inbox deliver as a Postfix pipe transport', () => {
	describeEachStore('Postfix -> pipe -> hosted-inbox deliver -> the HTTP door', (getStore, _engine, getOptions) => {
		let postfix: Postfix | undefined;
		let server: Served | undefined;
		let inbox: ReturnType<typeof parseInboxConfig>;
		let inboxId: string;
		let door: ReturnType<typeof createHttpDoor>;
		const doorOver = (store: Store) => createHttpDoor({ store, inbox, inboxId, resolver: zoneResolver({}), settings: { format: 'raw', token: TOKEN } });

		beforeAll(async () => {
			const address = `support-${Date.now()}@${DOMAIN}`;
			({ id: inboxId } = await getStore().registerInbox({ address }));
			inbox = parseInboxConfig({ address });
			door = doorOver(getStore());
			server = await serve((request) => door(request));
			postfix = await Postfix.start({
				domain: DOMAIN,
				argv: [
					nodeForPipeUser(), '-r', REGISTER_TS, CLI, 'deliver', '--url', server.url, '--token-file', tokenFile(TOKEN),
					'--sender', '${sender}', '--recipient', '${recipient}', '--client-ip', '${client_address}', '--helo', '${client_helo}', '--timeout', '60',
				],
			});
		});
		afterAll(async () => {
			await postfix?.stop();
			await server?.close();
		});

		const spooled = (subject: string) => async () => {
			for (const entry of await getStore().spoolList({ inboxId })) {
				const raw = await spooledRaw(getStore(), entry.id);
				if (raw.includes(`Message-ID: <${subject}@sender.test>`)) return { ...entry, raw };
			}
			return undefined;
		};

		it('delivers mail sent to Postfix on loopback through the pipe into the spool: the message byte-exact after the headers Postfix adds', async () => {
			const sent = message(inbox.address, 'through-postfix');
			await postfix!.swaks({ from: 'ann@sender.test', to: inbox.address, helo: 'client.sender.test', message: sent });
			const entry = await eventually('the message in the spool', spooled('through-postfix'));
			const { raw } = entry;
			// Return-Path (flags=R) and Postfix's Received, then the message as it was sent.
			expect(raw.subarray(raw.length - sent.length).equals(sent)).toBe(true);
			expect(raw.subarray(0, raw.length - sent.length).toString()).toMatch(/^Return-Path: <ann@sender\.test>\r\nReceived: from client\.sender\.test \(localhost \[127\.0\.0\.1\]\)\r\n\tby mx\.hosted-inbox\.test/);
			expect(entry.envelope).toEqual({ clientIp: '127.0.0.1', helo: 'client.sender.test', mailFrom: 'ann@sender.test', rcpt: [inbox.address] });
			// The spool has it before the pipe command has exited and Postfix logged it.
			await eventually('Postfix logging the delivery', async () => /relay=hostedinbox, .*status=sent/.test(postfix!.log()));
		});

		it('passes the null sender of a bounce on as <> (master.cf null_sender=)', async () => {
			await postfix!.swaks({ from: '<>', to: inbox.address, helo: 'client.sender.test', message: message(inbox.address, 'null-sender') });
			const entry = await eventually('the bounce in the spool', spooled('null-sender'));
			expect(entry.envelope.mailFrom).toBe('');
			expect(entry.raw.toString('latin1')).toMatch(/^Return-Path: <>\r\n/);
		});

		it('defers while the door answers 503 (its store down), mailq showing our reply (Postfix takes its 4.3.0 as the status); after the door is back, postqueue -f delivers it', async () => {
			const down = await openStore(getOptions());
			await down.close();
			door = doorOver(down);
			const queueId = await postfix!.swaks({ from: 'ann@sender.test', to: inbox.address, helo: 'client.sender.test', message: message(inbox.address, 'deferred-then-flushed') });
			let queue = '';
			const deferred = await eventually(() => `the deferral in mailq (it says:\n${queue}\nPostfix logged:\n${postfix!.log()})`, async () => {
				queue = await postfix!.queue();
				return queue.includes(queueId) && /\(Temporary local problem, try again later \(HTTP 503 from .*\); the message stays queued\)/.test(queue) ? queue : null;
			});
			expect(deferred).toContain(inbox.address);
			expect(postfix!.log()).toMatch(new RegExp(`${queueId}: to=<${inbox.address}>, relay=hostedinbox, .*dsn=4\\.3\\.0, status=deferred \\(Temporary local problem`));
			expect(await spooled('deferred-then-flushed')()).toBeUndefined();

			door = doorOver(getStore());
			await postfix!.flush();
			await eventually('the flushed message in the spool', spooled('deferred-then-flushed'));
			await eventually('an empty queue', async () => /Mail queue is empty/.test(await postfix!.queue()));
			await eventually('Postfix logging the delivery', async () => new RegExp(`${queueId}: to=<${inbox.address}>, relay=hostedinbox, .*status=sent`).test(postfix!.log()));
		});

		it('bounces a final refusal with our 5.7.1 reply (DMARC reject), and spools nothing', async () => {
			door = createHttpDoor({ store: getStore(), inbox, inboxId, resolver: zoneResolver(testWorld().zone), settings: { format: 'raw', token: TOKEN } });
			const forged = message(inbox.address, 'forged').toString('latin1').replace('From: Ann <ann@sender.test>', 'From: Carol <carol@customer.test>');
			const queueId = await postfix!.swaks({ from: 'carol@customer.test', to: inbox.address, helo: 'client.customer.test', message: Buffer.from(forged, 'latin1') });
			await eventually('the bounce in the log', async () => new RegExp(`${queueId}: to=<${inbox.address}>, relay=hostedinbox, .*dsn=5\\.7\\.1, status=bounced \\(`).test(postfix!.log()));
			expect(await spooled('forged')()).toBeUndefined();
		});
	});
});
