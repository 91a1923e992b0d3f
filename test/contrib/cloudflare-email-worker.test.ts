import { ReadableStream, type ReadableStreamDefaultController } from 'node:stream/web';

import { zoneResolver } from '../../core/dns';
import { createHttpDoor } from '../../core/http/door';
import { parseInboxConfig } from '../../core/inbox';
import { answer, door, readBody, startServer, type Posted } from '../support/deliver';
import { serve } from '../support/http-posts';
import { freePort } from '../support/ports';
import { describeEachStore, spooledRaw } from '../support/stores';

// The worker as it is deployed: an ES module with `export default { email }` (jest turns it into CommonJS).
type Worker = { email(message: unknown, env: Record<string, string | undefined>, ctx: unknown): Promise<void> };
const worker = (require('../../contrib/cloudflare-email-worker.js') as { default: Worker }).default;

const TOKEN = 'tok_cf_worker_9e3a';

const message = Buffer.concat([
	Buffer.from('Received: from mail.sender.test (mail.sender.test [203.0.113.9])\r\n\tby mx.cloudflare.net (Postfix) with ESMTPS id 4Xyz\r\n\tfor <support@inbox.example.test>; Thu, 03 Dec 2026 08:00:00 +0000\r\n'),
	Buffer.from('From: Ann <ann@sender.test>\r\nTo: support@inbox.example.test\r\nSubject: via Cloudflare\r\nDate: Thu, 03 Dec 2026 08:00:00 +0000\r\nMessage-ID: <cf-1@sender.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'),
	Buffer.from('Grüße aus Köln\r\n'),
	Buffer.from([0xe9, 0xfc, 0xff, 0x0d, 0x0a]),
]);

/**
 * Cloudflare's ForwardableEmailMessage as the runtime hands it to email(): the envelope, the message as a real
 * ReadableStream the test feeds, and setReject recorded. It stands in for the runtime, not for the worker.
 */
function emailMessage(to = 'support@inbox.example.test', from = 'ann@sender.test') {
	let feed!: ReadableStreamDefaultController<Uint8Array>;
	const raw = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
	const rejected: string[] = [];
	return {
		message: { from, to, raw, rawSize: message.length, headers: new Headers(), setReject: (reason: string) => void rejected.push(reason) },
		rejected,
		/** Feeds the message in two parts; `between` runs after the first. */
		async send(between: () => Promise<void> = async () => undefined) {
			feed.enqueue(new Uint8Array(message.subarray(0, 100)));
			await between();
			feed.enqueue(new Uint8Array(message.subarray(100)));
			feed.close();
		},
	};
}

describe('contrib/cloudflare-email-worker.js: Email Routing to the HTTP door', () => {
	it('streams message.raw byte-exact as a raw POST with the envelope and the token; a 2xx is done', async () => {
		let received = 0;
		let ended = false;
		let posted: Posted | undefined;
		const server = await startServer(async (request, response) => {
			request.on('data', (chunk: Buffer) => (received += chunk.length));
			request.on('end', () => (ended = true));
			posted = { method: request.method!, url: request.url!, headers: request.headers, rawHeaders: request.rawHeaders, body: await readBody(request) };
			answer(response, 200, '250 2.0.0 Queued as sp_cf');
		});
		try {
			const { message: email, rejected, send } = emailMessage();
			const handled = worker.email(email, { HOSTED_INBOX_URL: `${server.url}/webhook/cf`, HOSTED_INBOX_TOKEN: TOKEN }, {});
			await send(async () => {
				// The door has the first part while the rest is still to come: streamed, not read whole first.
				const deadline = Date.now() + 20_000;
				while (received < 100 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
				expect([received, ended]).toEqual([100, false]);
			});
			await expect(handled).resolves.toBeUndefined();
			expect(received).toBe(message.length);
			expect(rejected).toEqual([]);
			expect(posted!.body.equals(message)).toBe(true);
			expect(posted!.headers).toMatchObject({
				'content-type': 'message/rfc822',
				authorization: `Bearer ${TOKEN}`,
				'x-envelope-from': 'ann@sender.test',
				'x-envelope-to': 'support@inbox.example.test',
				'transfer-encoding': 'chunked',
			});
		} finally {
			await server.close();
		}
	});

	it('rejects with the door\'s reply on a final refusal (422 with a 5xx reply, 413), so the sender gets the bounce', async () => {
		const server = await door((response, posted) =>
			posted.url === '/refused' ? answer(response, 422, '550 5.7.1 DMARC policy of sender.test is reject') : answer(response, 413, '552 5.3.4 Message too big: the limit is 100 bytes'),
		);
		try {
			for (const [path, reply] of [
				['/refused', '550 5.7.1 DMARC policy of sender.test is reject'],
				['/too-big', '552 5.3.4 Message too big: the limit is 100 bytes'],
			]) {
				const { message: email, rejected, send } = emailMessage();
				const handled = worker.email(email, { HOSTED_INBOX_URL: `${server.url}${path}`, HOSTED_INBOX_TOKEN: TOKEN }, {});
				await send();
				await expect(handled).resolves.toBeUndefined();
				expect(rejected).toEqual([reply]);
			}
			expect(server.posts[0].headers['x-envelope-from']).toBe('ann@sender.test');
		} finally {
			await server.close();
		}
	});

	it('throws, rejecting nothing, on a temporary problem or a setup one: 503, 429, 401, 404, a 422 without a 5xx reply, no server, no settings', async () => {
		const server = await door((response, posted) => {
			const status = Number(posted.url.slice(1));
			if (status === 404) return void (response.writeHead(404), response.end('not registered'));
			answer(response, status, status === 422 ? 'whatever' : status === 401 ? '535 5.7.8 Authentication credentials invalid' : '451 4.3.0 Temporary local problem, try again later');
		});
		try {
			const nowhere = `http://127.0.0.1:${await freePort()}/`;
			for (const [url, token, thrown] of [
				[`${server.url}/503`, TOKEN, /^hosted inbox: HTTP 503 \(451 4\.3\.0 Temporary local problem, try again later\); try again later$/],
				[`${server.url}/429`, TOKEN, /HTTP 429/],
				[`${server.url}/401`, 'wrong', /^hosted inbox: HTTP 401 \(535 5\.7\.8 Authentication credentials invalid\)/],
				[`${server.url}/404`, TOKEN, /^hosted inbox: HTTP 404; try again later$/],
				[`${server.url}/422`, TOKEN, /HTTP 422 \(whatever\)/],
				[nowhere, TOKEN, /fetch failed/],
				[undefined, TOKEN, /set HOSTED_INBOX_URL and the secret HOSTED_INBOX_TOKEN/],
				[`${server.url}/503`, undefined, /set HOSTED_INBOX_URL and the secret HOSTED_INBOX_TOKEN/],
			] as const) {
				const { message: email, rejected, send } = emailMessage();
				const handled = worker.email(email, { HOSTED_INBOX_URL: url, HOSTED_INBOX_TOKEN: token }, {});
				await send();
				await expect(handled).rejects.toThrow(thrown);
				expect(rejected).toEqual([]);
			}
		} finally {
			await server.close();
		}
	});
});

describeEachStore('contrib/cloudflare-email-worker.js to the HTTP door itself (createHttpDoor, a real store)', (getStore) => {
	it('lands the message in the spool byte-exact, with Email Routing\'s envelope and Cloudflare\'s Received hop as the client', async () => {
		const store = getStore();
		const { id: inboxId } = await store.registerInbox({ address: 'support@inbox.example.test' });
		const inbox = parseInboxConfig({ address: 'support@inbox.example.test' });
		const httpDoor = createHttpDoor({ store, inbox, inboxId, resolver: zoneResolver({}), settings: { format: 'raw', token: TOKEN } });
		const server = await serve(httpDoor);
		try {
			const { message: email, rejected, send } = emailMessage();
			const handled = worker.email(email, { HOSTED_INBOX_URL: server.url, HOSTED_INBOX_TOKEN: TOKEN }, {});
			await send();
			await expect(handled).resolves.toBeUndefined();
			expect(rejected).toEqual([]);
			const [entry] = await store.spoolList({ inboxId });
			expect((await spooledRaw(store, entry.id)).equals(message)).toBe(true);
			expect(entry.envelope).toEqual({ clientIp: '203.0.113.9', helo: 'mail.sender.test', mailFrom: 'ann@sender.test', rcpt: ['support@inbox.example.test'] });
		} finally {
			await server.close();
		}
	});
});
