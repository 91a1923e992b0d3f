import type http from 'node:http';
import { writeFileSync } from 'node:fs';

import { zoneResolver } from '../../core/dns';
import { createHttpDoor } from '../../core/http/door';
import { parseInboxConfig, type InboxConfigInput } from '../../core/inbox';
import { openStore } from '../../core/store/open';
import { compose, testWorld } from '../fixtures/mail';
import { runCli } from '../support/cli';
import { answer, deliver, door, startDeliver, startServer, tokenFile } from '../support/deliver';
import { serve } from '../support/http-posts';
import { freePort } from '../support/ports';
import { describeEachStore, spooledRaw } from '../support/stores';

jest.setTimeout(60_000);

const TOKEN = 'tok_4f1d9c0b7a8e';
const token = tokenFile(TOKEN);

/** Every byte value in the body, CRLF line ends: what an 8-bit message may carry. */
const message = Buffer.concat([
	Buffer.from('From: Ann <ann@sender.test>\r\nTo: support@inbox.example.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n'),
	Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
	Buffer.from('\r\n.\r\n..\r\nend\r\n'),
]);

const envelopeArgs = (url: string, more: string[] = []) => ['--url', url, '--token-file', token, '--sender', 'ann@sender.test', '--recipient', 'support@inbox.example.test', ...more];

describe('hosted-inbox deliver: a message to the HTTP door, as an MTA pipe transport runs it', () => {
	it('streams the message byte-exact as a raw POST with the envelope and the token, exits 0 and prints the reply', async () => {
		const server = await door((response) => answer(response, 202, '250 2.0.0 Queued as sp_1'));
		try {
			const r = await deliver(
				envelopeArgs(`${server.url}/webhook/inbox?x=1`, ['--recipient', 'sales@inbox.example.test', '--client-ip', '203.0.113.9', '--helo', 'mail.sender.test']),
				message,
			);
			expect(r).toEqual({ code: 0, stdout: '2.0.0 Queued as sp_1\n', stderr: '' });
			const [posted] = server.posts;
			expect(server.posts).toHaveLength(1);
			expect(posted.method).toBe('POST');
			expect(posted.url).toBe('/webhook/inbox?x=1');
			expect(posted.body.equals(message)).toBe(true);
			expect(posted.headers).toMatchObject({
				'content-type': 'message/rfc822',
				authorization: `Bearer ${TOKEN}`,
				'x-envelope-from': 'ann@sender.test',
				'x-client-ip': '203.0.113.9',
				'x-client-helo': 'mail.sender.test',
				// Its size is unknown until stdin ends: chunked, never read whole first.
				'transfer-encoding': 'chunked',
			});
			expect(posted.headers['content-length']).toBeUndefined();
			// One header line per recipient (node joins them for req.headers).
			const to = posted.rawHeaders.flatMap((value, i) => (i % 2 === 1 && posted.rawHeaders[i - 1].toLowerCase() === 'x-envelope-to' ? [value] : []));
			expect(to).toEqual(['support@inbox.example.test', 'sales@inbox.example.test']);
		} finally {
			await server.close();
		}
	});

	it('sends bytes before its stdin is closed: the door reads the first part while the MTA still writes the rest', async () => {
		let received = 0;
		let ended = false;
		const server = await startServer((request, response) => {
			request.on('data', (chunk: Buffer) => (received += chunk.length));
			request.on('end', () => ((ended = true), answer(response, 200, '250 2.0.0 Queued as sp_2')));
		});
		try {
			const run = startDeliver(envelopeArgs(server.url));
			const first = message.subarray(0, 100);
			run.child.stdin!.write(first);
			const deadline = Date.now() + 20_000;
			while (received < first.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
			expect(received).toBe(first.length);
			expect(ended).toBe(false);
			run.child.stdin!.end(message.subarray(100));
			expect(await run.exited).toMatchObject({ code: 0, stdout: '2.0.0 Queued as sp_2\n' });
			expect(received).toBe(message.length);
		} finally {
			await server.close();
		}
	});

	it('sends the null sender as <> and UTF-8 addresses as their UTF-8 bytes; leaves out an empty client address and HELO', async () => {
		const server = await door((response) => answer(response, 200, '250 2.0.0 Queued as sp_3'));
		try {
			const r = await deliver(['--url', server.url, '--token-file', token, '--sender', '', '--recipient', 'jürgen@inbox.example.test', '--client-ip', '', '--helo', ''], message);
			expect(r.code).toBe(0);
			const { headers } = server.posts[0];
			expect(headers['x-envelope-from']).toBe('<>');
			expect(Buffer.from(headers['x-envelope-to'] as string, 'latin1').toString('utf8')).toBe('jürgen@inbox.example.test');
			expect(headers['x-client-ip']).toBeUndefined();
			expect(headers['x-client-helo']).toBeUndefined();
		} finally {
			await server.close();
		}
	});

	it('exits 77 (EX_NOPERM) on a final refusal whose reply is 5.7.x, 69 (EX_UNAVAILABLE) on any other, and prints the reply for the bounce', async () => {
		const replies: Record<string, string> = { '/policy': '550 5.7.1 DMARC policy of sender.test is reject', '/data': '554 5.6.0 Message refused: no header section' };
		const server = await door((response, posted) => answer(response, 422, replies[posted.url]));
		try {
			expect(await deliver(envelopeArgs(`${server.url}/policy`), message)).toEqual({ code: 77, stdout: '5.7.1 DMARC policy of sender.test is reject\n', stderr: '' });
			expect(await deliver(envelopeArgs(`${server.url}/data`), message)).toEqual({ code: 69, stdout: '5.6.0 Message refused: no header section\n', stderr: '' });
		} finally {
			await server.close();
		}
	});

	it('exits 69 on a 413 answered while the message is still streaming, and reads the rest of its input', async () => {
		let received = 0;
		const server = await startServer((request, response) => {
			request.once('data', (chunk: Buffer) => {
				received += chunk.length;
				answer(response, 413, '552 5.3.4 Message too big: the limit of support@inbox.example.test is 100 bytes');
			});
		});
		try {
			const run = startDeliver(envelopeArgs(server.url));
			run.child.stdin!.write(message.subarray(0, 100));
			const deadline = Date.now() + 20_000;
			while (received === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
			// The MTA goes on writing after the answer: the child drains it, no broken pipe on the MTA's side.
			let writeFailed = false;
			run.child.stdin!.on('error', () => (writeFailed = true));
			for (let i = 0; i < 64; i++) run.child.stdin!.write(Buffer.alloc(16 * 1024, 0x61));
			run.child.stdin!.end();
			const r = await run.exited;
			expect(r).toEqual({ code: 69, stdout: '5.3.4 Message too big: the limit of support@inbox.example.test is 100 bytes\n', stderr: '' });
			expect(writeFailed).toBe(false);
		} finally {
			await server.close();
		}
	});

	it('exits 69 on a 413 without the door\'s reply (a proxy in front of it), with a 5.3.4 of its own', async () => {
		const server = await startServer((request, response) => {
			response.writeHead(413, { 'Content-Type': 'text/html', Connection: 'close' });
			response.end('<html>413 Request Entity Too Large</html>');
			request.resume();
		});
		try {
			const r = await deliver(envelopeArgs(server.url), message);
			expect(r.code).toBe(69);
			expect(r.stdout).toMatch(/^5\.3\.4 Message too big for the hosted inbox \(HTTP 413 from http:\/\/127\.0\.0\.1:\d+\/\)\n$/);
		} finally {
			await server.close();
		}
	});

	it('exits 75 (EX_TEMPFAIL) with a 4.x.x line on 503, 429, other 5xx, 404, a redirect and a 422 without a 5xx reply: the MTA keeps the mail', async () => {
		const answers: Record<string, (response: http.ServerResponse) => void> = {
			'/503': (response) => answer(response, 503, '451 4.3.0 Temporary local problem, try again later', { 'Retry-After': '60' }),
			'/429': (response) => answer(response, 429, '451 4.7.0 Too many messages, try again later'),
			'/500': (response) => (response.writeHead(500), response.end('Internal Server Error')),
			'/404': (response) => (response.writeHead(404, { 'Content-Type': 'application/json' }), response.end('{"code":404,"message":"The requested webhook is not registered."}')),
			'/302': (response) => (response.writeHead(302, { Location: 'https://elsewhere.test/login' }), response.end()),
			'/422': (response) => answer(response, 422, 'not an SMTP reply'),
			// A door that calls a final refusal temporary by its reply class: the reply's class wins, never a bounce.
			'/5xx-reply': (response) => answer(response, 502, '554 5.6.0 Message refused: upstream'),
		};
		const server = await door((response, posted) => answers[posted.url](response));
		try {
			const lines: Record<string, string> = {};
			for (const path of Object.keys(answers)) {
				const r = await deliver(envelopeArgs(`${server.url}${path}`), message);
				expect([path, r.code]).toEqual([path, 75]);
				expect(r.stdout).toMatch(/^4\.\d{1,3}\.\d{1,3} [^\n]+\n$/);
				lines[path] = r.stdout.trim();
				expect([path, r.stderr]).toEqual([path, path === '/302' ? "hosted-inbox deliver: set --url to the webhook's own URL (its production URL), not one that redirects\n" : '']);
			}
			const at = (status: number) => `HTTP ${status} from ${server.url}/`;
			expect(lines['/503']).toBe(`4.3.0 Temporary local problem, try again later (${at(503)}503); the message stays queued`);
			expect(lines['/429']).toBe(`4.7.0 Too many messages, try again later (${at(429)}429); the message stays queued`);
			expect(lines['/500']).toBe(`4.3.0 ${at(500)}500; the message stays queued`);
			expect(lines['/404']).toBe(`4.3.0 ${at(404)}404; the message stays queued`);
			expect(lines['/302']).toBe(`4.3.5 ${at(302)}302 redirects to https://elsewhere.test/login; the message stays queued`);
			expect(lines['/422']).toBe(`4.3.0 not an SMTP reply (${at(422)}422); the message stays queued`);
			expect(lines['/5xx-reply']).toBe(`4.6.0 Message refused: upstream (${at(502)}5xx-reply); the message stays queued`);
		} finally {
			await server.close();
		}
	});

	it('exits 75 on 401 and 403 and says on stderr that the token is wrong: a misconfigured token defers mail, never bounces it', async () => {
		const server = await door((response, posted) =>
			posted.headers.authorization === 'Bearer right' ? answer(response, 200, '250 2.0.0 Queued as sp_4') : answer(response, posted.url === '/403' ? 403 : 401, '535 5.7.8 Authentication credentials invalid'),
		);
		try {
			for (const path of ['/401', '/403']) {
				const r = await deliver(envelopeArgs(`${server.url}${path}`), message);
				expect(r.code).toBe(75);
				expect(r.stdout).toBe(`4.7.8 Authentication credentials invalid (HTTP ${path.slice(1)} from ${server.url}${path}); the message stays queued\n`);
				expect(r.stderr).toMatch(/did not accept the token: check --token-file .*deferred, not bounced/);
				expect(r.stderr).not.toContain(TOKEN);
			}
			expect((await deliver(['--url', server.url, '--token-file', tokenFile('right'), '--sender', 'a@sender.test', '--recipient', 'b@inbox.example.test'], message)).code).toBe(0);
		} finally {
			await server.close();
		}
	});

	it('exits 75 when the door cannot be reached, closes the connection mid-message, answers too late, or answers 2xx before the whole message', async () => {
		const refused = await deliver(envelopeArgs(`http://127.0.0.1:${await freePort()}/`), message);
		expect(refused.code).toBe(75);
		expect(refused.stdout).toMatch(/^4\.4\.1 connection to http:\/\/127\.0\.0\.1:\d+\/ failed: ECONNREFUSED; the message stays queued\n$/);

		const cut = await startServer((request) => request.once('data', () => request.socket.destroy()));
		try {
			const r = await deliver(envelopeArgs(cut.url), message);
			expect(r.code).toBe(75);
			expect(r.stdout).toMatch(/^4\.4\.1 connection to .* failed: (ECONNRESET|EPIPE|socket hang up)/);
		} finally {
			await cut.close();
		}

		const silent = await startServer((request) => request.resume());
		try {
			const started = Date.now();
			const r = await deliver(envelopeArgs(silent.url, ['--timeout', '1']), message);
			expect(r.code).toBe(75);
			expect(r.stdout).toMatch(/^4\.4\.2 no answer from http:\/\/127\.0\.0\.1:\d+\/ within 1 s; the message stays queued\n$/);
			expect(Date.now() - started).toBeLessThan(15_000);
		} finally {
			await silent.close();
		}

		const hasty = await startServer((request, response) => request.once('data', () => answer(response, 200, '250 2.0.0 Queued as sp_5')));
		try {
			const run = startDeliver(envelopeArgs(hasty.url));
			run.child.stdin!.write(message.subarray(0, 50));
			const deadline = Date.now() + 20_000;
			while (!run.stdout() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
			run.child.stdin!.end(message.subarray(50));
			expect(await run.exited).toMatchObject({ code: 75, stdout: expect.stringMatching(/^4\.3\.0 HTTP 200 .* came before the whole message was sent/) });
		} finally {
			await hasty.close();
		}
	});

	it('exits 64 (EX_USAGE) on a bad command line, and 75 with a 4.3.5 line when the token file cannot be used', async () => {
		const base = ['deliver', '--url', 'http://127.0.0.1:9/', '--token-file', token, '--sender', 'a@sender.test', '--recipient', 'b@inbox.example.test'];
		for (const args of [
			['deliver'],
			base.slice(0, -2),
			[...base, '--colour'],
			[...base, 'extra'],
			[...base.slice(0, 2), 'ftp://host/x', ...base.slice(3)],
			[...base.slice(0, 2), 'not a url', ...base.slice(3)],
			[...base, '--timeout', '0'],
			[...base, '--timeout', 'soon'],
			[...base, '--recipient', 'b@inbox.example.test\r\nX-Injected: 1'],
			[...base.slice(0, -1), ''],
		]) {
			const r = await runCli(args);
			expect([args, r.code]).toEqual([args, 64]);
			expect(r.stderr).toMatch(/^hosted-inbox deliver: .+\nusage: hosted-inbox deliver --url URL/);
			expect(r.stdout).toBe('');
		}
		const empty = tokenFile('');
		const twoWords = tokenFile('one two');
		writeFileSync(twoWords, 'one two\n');
		for (const [file, why] of [
			['/nonexistent/token', 'ENOENT'],
			[empty, 'it is empty'],
			[twoWords, 'it holds more than one token'],
		]) {
			const r = await runCli([...base.slice(0, 3), '--token-file', file, ...base.slice(5)]);
			expect(r.code).toBe(75);
			expect(r.stdout).toMatch(new RegExp(`^4\\.3\\.5 cannot use the token file ${file}: ${why}.*; the message stays queued\\n$`));
			expect(r.stderr).toMatch(/readable by the user the MTA runs this command as/);
		}
	});
});

describeEachStore('hosted-inbox deliver to the HTTP door itself (createHttpDoor, a real store)', (getStore, _engine, getOptions) => {
	const { zone } = testWorld();
	let n = 0;
	/** An inbox with its raw-format door served on loopback; `doorOver` builds the door over another store handle. */
	async function inboxDoor(settings: Partial<InboxConfigInput> = {}) {
		const store = getStore();
		const address = `support-deliver-${++n}-${Date.now()}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const inbox = parseInboxConfig({ address, ...settings });
		const doorOver = (over: Parameters<typeof createHttpDoor>[0]['store']) =>
			createHttpDoor({ store: over, inbox, inboxId, resolver: zoneResolver(zone), settings: { format: 'raw', token: TOKEN } });
		let door = doorOver(store);
		// `door` is read per request: a test swaps it for one over a store that is down.
		const server = await serve((request) => door(request));
		const args = (from: string, more: string[] = []) => ['--url', server.url, '--token-file', token, '--sender', from, '--recipient', address, '--client-ip', '203.0.113.9', '--helo', 'mail.sender.test', ...more];
		return { store, inboxId, address, server, args, swap: (over: Parameters<typeof doorOver>[0]) => (door = doorOver(over)) };
	}
	const spooledId = (stdout: string) => /^2\.0\.0 Queued as (\S+)\n$/.exec(stdout)?.[1];

	it('exits 0 once the message is in the spool, byte-exact (8-bit), with the envelope the MTA gave', async () => {
		const { store, inboxId, address, server, args } = await inboxDoor();
		try {
			const raw = Buffer.concat([Buffer.from(`To: ${address}\r\n`), message]);
			const r = await deliver(args('ann@sender.test'), raw);
			expect(r).toMatchObject({ code: 0, stderr: '' });
			const id = spooledId(r.stdout);
			expect(id).toBeDefined();
			const entry = await store.spoolGet(id!);
			expect(entry).toMatchObject({ inboxId, status: 'pending', envelope: { clientIp: '203.0.113.9', helo: 'mail.sender.test', mailFrom: 'ann@sender.test', rcpt: [address] } });
			expect((await spooledRaw(store, id!)).equals(raw)).toBe(true);
		} finally {
			await server.close();
		}
	});

	it('exits 77 on a DMARC reject (5.7.1), 69 on data that is not an email and on a message over the limit, 75 on a wrong token: none of them spooled', async () => {
		const { store, inboxId, address, server, args } = await inboxDoor({ maxMessageBytes: 64 * 1024 });
		try {
			const forged = await compose({ from: 'carol@customer.test', to: address, subject: 'forged', text: 'pay this' });
			const rejected = await deliver(args('carol@customer.test'), forged);
			expect(rejected.code).toBe(77);
			expect(rejected.stdout).toMatch(/^5\.7\.1 \S/);

			expect(await deliver(args('ann@sender.test'), Buffer.from('just words, no header\r\n'))).toMatchObject({ code: 69, stdout: expect.stringMatching(/^5\.6\.0 Message refused: /) });

			const big = Buffer.concat([Buffer.from(`From: ann@sender.test\r\nTo: ${address}\r\nSubject: big\r\n\r\n`), Buffer.alloc(512 * 1024, 'x')]);
			// The door answers 413 as soon as the limit is passed and reads the rest to drop it: deliver hears the 413
			// (never a reset, which the MTA would retry for days), and the MTA bounces the message at once.
			expect(await deliver(args('ann@sender.test'), big)).toMatchObject({ code: 69, stdout: `5.3.4 Message too big: the limit of ${address} is ${64 * 1024} bytes\n` });

			const wrong = await deliver([...args('ann@sender.test'), '--token-file', tokenFile('not-the-token')], message);
			expect(wrong).toMatchObject({ code: 75, stdout: expect.stringMatching(/^4\.7\.8 Authentication credentials invalid \(HTTP 401 from .*\); the message stays queued\n$/) });
			expect(wrong.stderr).toMatch(/did not accept the token/);

			expect(await store.spoolList({ inboxId })).toEqual([]);
		} finally {
			await server.close();
		}
	});

	it('exits 75 with the door\'s 4.3.0 while its store is down, and 0 for the same message once it is back', async () => {
		const { store, inboxId, server, args, swap } = await inboxDoor();
		const down = await openStore(getOptions());
		await down.close();
		swap(down);
		try {
			const r = await deliver(args('ann@sender.test'), message);
			expect(r).toMatchObject({ code: 75, stdout: expect.stringMatching(/^4\.3\.0 Temporary local problem, try again later \(HTTP 503 from /) });
			swap(store);
			const again = await deliver(args('ann@sender.test'), message);
			expect(again.code).toBe(0);
			expect((await store.spoolList({ inboxId })).map((entry) => entry.id)).toEqual([spooledId(again.stdout)]);
		} finally {
			await server.close();
		}
	});
});
