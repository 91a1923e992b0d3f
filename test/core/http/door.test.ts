import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

import { zoneResolver, type DnsResolver } from '../../../core/dns';
import { rawSignature } from '../../../core/http/authenticate';
import { createHttpDoor, httpBudget, REPLAYED, type HttpDoorOptions, type HttpDoorSettings } from '../../../core/http/door';
import { parseInboxConfig, type InboxConfigInput } from '../../../core/inbox';
import type { Store } from '../../../core/store/roles';
import { compose, prependHeaders, sign, testWorld } from '../../fixtures/mail';
import { basic, bearer, mailgunFields, multipart, post, postmarkPayload, sendgridFields, serve, sesNotification, type Served } from '../../support/http-posts';
import { CERT_URL, snsSigner, TOPIC_ARN } from '../../support/sns';
import { describeEachStore, spooledRaw } from '../../support/stores';
import { until } from '../../support/until';

const { zone, company } = testWorld();
const TOKEN = 'door-token-7f3a9c';
const SIGNING_KEY = 'key-mailgun-signing-3b1e';
const HMAC_SECRET = 'hmac-secret-55c2';
/** The provider's own hop, written on top of every message it posts. */
const HOP = { ip: '203.0.113.77', helo: 'mail-wr1-f54.sender.test' };
const RECEIVED = `Received: from ${HOP.helo} (${HOP.helo} [${HOP.ip}]) by mxa.provider.test with ESMTP id 17a2; ${new Date().toUTCString()}`;

/** A DKIM-signed message (company.test, DMARC p=reject: accepted only if the bytes arrive unchanged) with an 8-bit body. */
async function signedEightBit(to: string, charset: 'iso-8859-1' | 'utf-8'): Promise<Buffer> {
	const body = charset === 'utf-8' ? Buffer.from('Café crème, déjà vu.\r\n', 'utf8') : Buffer.from('Caf\xe9 cr\xe8me, d\xe9j\xe0 vu.\r\n', 'latin1');
	const head =
		`From: Ann <ann@company.test>\r\nTo: ${to}\r\nSubject: eight bits ${randomUUID()}\r\nDate: ${new Date().toUTCString()}\r\n` +
		`Message-ID: <${randomUUID()}@company.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=${charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`;
	return prependHeaders(await sign(Buffer.concat([Buffer.from(head), body]), company), RECEIVED);
}

/** Mail claiming a From whose domain says p=reject, with no signature: refused for good. */
const spoofed = async (to: string) => prependHeaders(await compose({ from: 'carol@customer.test', to, subject: 'forged', text: 'x' }), RECEIVED);

describeEachStore('the HTTP door', (getStore) => {
	const opened: Served[] = [];
	afterAll(async () => {
		for (const served of opened) await served.close();
	});

	async function door(settings: Partial<HttpDoorSettings> & Pick<HttpDoorSettings, 'format'>, more: Omit<Partial<HttpDoorOptions>, 'inbox' | 'store'> & { inbox?: Partial<InboxConfigInput>; store?: Store } = {}) {
		const store = getStore();
		const address = `http-${settings.format}-${randomUUID().slice(0, 8)}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const { inbox: inboxSettings, store: doorStore, ...options } = more;
		const inbox = parseInboxConfig({ address, ...inboxSettings });
		const troubles: Error[] = [];
		const handle = createHttpDoor({
			store: doorStore ?? store,
			inbox,
			inboxId,
			resolver: zoneResolver(zone),
			settings: { token: null, ...settings },
			onTrouble: (error) => troubles.push(error),
			...options,
		});
		const served = await serve(handle);
		opened.push(served);
		// Each spool entry with its message whole, to compare with what was posted.
		const spool = async () => await Promise.all((await store.spoolList({ inboxId })).map(async (entry) => ({ ...entry, raw: await spooledRaw(store, entry.id) })));
		const kept = async () => ({ spool: await spool(), log: await store.listIntake({ inboxId }) });
		return { store, address, inboxId, served, url: served.url, troubles, kept };
	}

	describe('raw (an MTA pipe: hosted-inbox deliver)', () => {
		it('spools the exact bytes posted (8-bit, DKIM-signed) with the envelope of its headers before its 200', async () => {
			const { url, address, kept } = await door({ format: 'raw', token: TOKEN });
			const raw = await signedEightBit(address, 'iso-8859-1');
			const before = Date.now();
			const answer = await post(url, raw, {
				...bearer(TOKEN),
				'content-type': 'message/rfc822',
				'x-envelope-from': 'ann@company.test',
				'x-envelope-to': address,
				'x-client-ip': '192.0.2.25',
				'x-client-helo': 'mail.company.test',
			});
			expect(answer.status).toBe(200);
			const { spool, log } = await kept();
			expect(spool).toHaveLength(1);
			expect(answer.json).toEqual({ status: 'accepted', reply: `250 2.0.0 Queued as ${spool[0].id}`, id: spool[0].id });
			expect(spool[0].raw.equals(raw)).toBe(true);
			expect(spool[0].envelope).toEqual({ clientIp: '192.0.2.25', helo: 'mail.company.test', mailFrom: 'ann@company.test', rcpt: [address] });
			expect(spool[0].decision?.auth?.dmarc.result).toBe('pass');
			// Its webhook run records it; the sweep re-drives it only after ten minutes.
			expect(new Date(spool[0].nextAttemptAt).getTime()).toBeGreaterThanOrEqual(before + 10 * 60_000 - 1000);
			expect(log).toEqual([]);
		});

		it('takes the token as a Basic password too; without it, or with another, 401 and nothing kept', async () => {
			const { url, address, kept } = await door({ format: 'raw', token: TOKEN });
			const raw = await signedEightBit(address, 'utf-8');
			const headers = { 'content-type': 'message/rfc822', 'x-envelope-to': address };
			for (const auth of [{}, bearer('wrong'), basic('wrong'), { authorization: 'Digest x' }]) {
				const answer = await post(url, raw, { ...headers, ...auth });
				expect(answer.status).toBe(401);
				expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
				expect(answer.json).toMatchObject({ status: 'unauthorized', reply: '535 5.7.8 Authentication credentials invalid' });
			}
			expect(await kept()).toEqual({ spool: [], log: [] });
			expect((await post(url, raw, { ...headers, ...basic(TOKEN) })).status).toBe(200);
		});

		it('takes an HMAC-signed post once; a bad signature or a stale timestamp is 401, a replay 503, nothing kept', async () => {
			const { url, address, kept } = await door({ format: 'raw', token: null, hmacSecret: HMAC_SECRET });
			const raw = await signedEightBit(address, 'utf-8');
			const signed = (timestamp: number, body = raw) => {
				const envelope = { 'x-envelope-to': address };
				return { 'content-type': 'message/rfc822', ...envelope, 'x-hosted-inbox-timestamp': String(timestamp), 'x-hosted-inbox-signature': rawSignature(HMAC_SECRET, String(timestamp), envelope, body) };
			};
			const now = Math.floor(Date.now() / 1000);
			const tampered = Buffer.concat([raw, Buffer.from('P.S. added\r\n')]);
			expect((await post(url, tampered, signed(now))).status).toBe(401);
			expect((await post(url, raw, signed(now - 301))).json).toMatchObject({ status: 'unauthorized', reasons: [expect.stringMatching(/more than 300 s from now/)] });
			expect((await post(url, raw, { ...signed(now), 'x-hosted-inbox-signature': 'zz' })).status).toBe(401);
			// The envelope is signed with the body: a signed post seen once cannot be sent first with another envelope,
			// a client IP that passes SPF for a forged From, or other recipients.
			for (const envelope of <Array<Record<string, string>>>[{ 'x-client-ip': '198.51.100.7' }, { 'x-client-helo': 'mail.customer.test' }, { 'x-envelope-from': 'carol@customer.test' }, { 'x-envelope-to': `${address}, other@inbox.example.test` }]) {
				const answer = await post(url, raw, { ...signed(now), ...envelope });
				expect({ envelope, status: answer.status }).toEqual({ envelope, status: 401 });
			}
			expect(await kept()).toEqual({ spool: [], log: [] });
			const headers = signed(now);
			expect((await post(url, raw, headers)).status).toBe(200);
			const replay = await post(url, raw, headers);
			expect(replay.status).toBe(503);
			expect(replay.json).toMatchObject({ status: 'try-again', reasons: [REPLAYED] });
			expect((await kept()).spool).toHaveLength(1);
		});

		it('refuses spoofed mail for good with 422 and the 5xx reply, in the intake log', async () => {
			const { url, address, kept } = await door({ format: 'raw', token: TOKEN });
			const answer = await post(url, await spoofed(address), { ...bearer(TOKEN), 'content-type': 'message/rfc822', 'x-envelope-to': address });
			expect(answer.status).toBe(422);
			expect(answer.json).toMatchObject({ status: 'refused', reply: expect.stringMatching(/^550 5\.7\.1 dmarc=fail/) });
			const { spool, log } = await kept();
			expect(spool).toEqual([]);
			expect(log.map((entry) => entry.kind)).toEqual(['rejected']);
		});

		it('answers 400 for a post that is not its format (no recipient, a wrong media type, not POST)', async () => {
			const { url, address, kept } = await door({ format: 'raw', token: TOKEN });
			const raw = await signedEightBit(address, 'utf-8');
			expect((await post(url, raw, { ...bearer(TOKEN), 'content-type': 'message/rfc822' })).json).toMatchObject({ status: 'bad-request', reply: expect.stringMatching(/^554 5\.5\.4 Request refused: .*no envelope recipient/) });
			expect((await post(url, raw, { ...bearer(TOKEN), 'content-type': 'text/plain', 'x-envelope-to': address })).status).toBe(400);
			expect((await post(url, raw, { ...bearer(TOKEN), 'content-type': 'message/rfc822', 'x-envelope-to': 'not an address' })).status).toBe(400);
			const get = await fetch(url, { headers: bearer(TOKEN) });
			expect(get.status).toBe(400);
			expect(await kept()).toEqual({ spool: [], log: [] });
		});
	});

	describe('size limits', () => {
		const small = { maxMessageBytes: 64 * 1024 };

		it('answers 413 from the Content-Length alone, before reading the body', async () => {
			const { served, address, kept } = await door({ format: 'raw', token: TOKEN }, { inbox: small });
			const status = await new Promise<number>((resolve, reject) => {
				const request = http.request(served.url, { method: 'POST', headers: { ...bearer(TOKEN), 'content-type': 'message/rfc822', 'x-envelope-to': address, 'content-length': String(50 * 1024 * 1024) } });
				request.on('response', (response) => (response.resume(), resolve(response.statusCode ?? 0), request.destroy()));
				request.on('error', reject);
				request.write(Buffer.alloc(1024, 'a'));
			});
			expect(status).toBe(413);
			expect(served.bytesRead.at(-1)!.atAnswer).toBeLessThan(64 * 1024);
			expect(await kept()).toEqual({ spool: [], log: [] });
		});

		it('answers a stranger declaring an oversize body 401, not 413: a header-borne credential is checked before the length', async () => {
			const declared = String(50 * 1024 * 1024);
			for (const format of ['raw', 'sendgrid', 'postmark'] as const) {
				const { served, address, kept } = await door({ format, token: TOKEN }, { inbox: small });
				const answer = (headers: Record<string, string>) =>
					new Promise<number>((resolve, reject) => {
						const request = http.request(served.url, { method: 'POST', headers: { 'content-type': 'message/rfc822', 'x-envelope-to': address, 'content-length': declared, ...headers } });
						request.on('response', (response) => (response.resume(), resolve(response.statusCode ?? 0), request.destroy()));
						request.on('error', reject);
						request.write(Buffer.alloc(1024, 'a'));
					});
				expect({ format, stranger: await answer({}), wrongToken: await answer(bearer('not-the-token')), sender: await answer(bearer(TOKEN)) }).toEqual({
					format,
					stranger: 401,
					wrongToken: 401,
					sender: 413,
				});
				// No stranger's refusal is logged; the sender's is where the door logs refusals (a raw post's client is told).
				const { spool, log } = await kept();
				const logged = format === 'raw' ? [] : [['rejected', ['too-large']]];
				expect({ format, spool, log: log.map((entry) => [entry.kind, (entry.details.verdict as { flags?: string[] } | undefined)?.flags]) }).toEqual({ format, spool: [], log: logged });
			}
		});

		it('closes at once, after its 413, a connection whose body declares more than the door would ever read to its end', async () => {
			const { served, address } = await door({ format: 'raw', token: TOKEN }, { inbox: small });
			// A bare socket, so that only the server can close the connection: 1 GB declared, 1 KB sent, then silence.
			const { answer, closedAfterMs } = await new Promise<{ answer: string; closedAfterMs: number }>((resolve, reject) => {
				const { port, pathname } = new URL(served.url);
				const socket = net.connect(Number(port), '127.0.0.1');
				let answer = '';
				let answeredAt = 0;
				socket.on('data', (data: Buffer) => {
					answer += data.toString('latin1');
					answeredAt ||= performance.now();
				});
				socket.on('end', () => resolve({ answer, closedAfterMs: performance.now() - answeredAt }));
				socket.on('error', reject);
				socket.write(
					`POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: message/rfc822\r\nX-Envelope-To: ${address}\r\nContent-Length: ${1024 * 1024 * 1024}\r\n\r\n`,
				);
				socket.write(Buffer.alloc(1024, 'a'));
			});
			expect(answer).toMatch(/^HTTP\/1\.1 413 [^]*\r\ncache-control: no-transform\r\n/i);
			// Not held open for the idle deadline (60 s), waiting for a rest it would never read to its end.
			expect(closedAfterMs).toBeLessThan(10_000);
		});

		it('answers 413 while streaming a chunked body past the limit, at once, holding none of the rest', async () => {
			const { served, address, kept } = await door({ format: 'raw', token: TOKEN }, { inbox: small });
			const chunk = Buffer.alloc(16 * 1024, 'a');
			const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
				let answered = false;
				const request = http.request(served.url, { method: 'POST', headers: { ...bearer(TOKEN), 'content-type': 'message/rfc822', 'x-envelope-to': address } });
				request.on('response', (response) => {
					answered = true;
					let text = '';
					response.on('data', (data: Buffer) => (text += data.toString()));
					response.on('end', () => (resolve({ status: response.statusCode ?? 0, body: text }), request.destroy()));
				});
				request.on('error', (error) => (answered ? undefined : reject(error)));
				const pump = () => {
					// Up to 50 MB, unless the server answers first.
					while (!answered) if (!request.write(chunk)) return void request.once('drain', pump);
				};
				pump();
			});
			expect(status).toBe(413);
			expect(JSON.parse(body)).toMatchObject({ status: 'too-large', reply: `552 5.3.4 Message too big: the limit of ${address} is ${64 * 1024} bytes` });
			// The answer came once the limit and a few socket buffers were read, not the 50 MB.
			expect(served.bytesRead.at(-1)!.atAnswer).toBeLessThan(1024 * 1024);
			expect(await kept()).toEqual({ spool: [], log: [] });
		});

		it('reads the rest of a body over the limit and drops it, so a client that sends it all before reading hears the 413, not a reset', async () => {
			const { served, address, kept } = await door({ format: 'raw', token: TOKEN }, { inbox: small });
			const whole = Buffer.alloc(8 * 1024 * 1024, 'a');
			// The whole message written, whatever the answer says meanwhile (as an MTA's pipe writes it), the answer taken after.
			const answer = await new Promise<{ status: number; body: string } | Error>((resolve) => {
				const request = http.request(served.url, { method: 'POST', headers: { ...bearer(TOKEN), 'content-type': 'message/rfc822', 'x-envelope-to': address } });
				request.on('error', resolve);
				const heard = new Promise<{ status: number; body: string }>((answered) =>
					request.once('response', (response) => {
						let text = '';
						response.on('data', (data: Buffer) => (text += data.toString()));
						response.on('end', () => answered({ status: response.statusCode ?? 0, body: text }));
					}),
				);
				request.end(whole, () => void heard.then(resolve));
			});
			expect(answer).toEqual({ status: 413, body: expect.stringContaining('"status":"too-large"') });
			// Every byte sent was read (and dropped): the connection closed on none unread.
			await until('the server read the whole body', () => served.bytesRead.at(-1)!.later() > whole.length, { timeoutMs: 10_000, everyMs: 20 });
			expect(await kept()).toEqual({ spool: [], log: [] });
		});
	});

	it('settles a request whose client goes away mid-body: nothing kept, nothing left waiting', async () => {
		const { served, address, kept } = await door({ format: 'raw', token: TOKEN });
		const request = http.request(served.url, { method: 'POST', headers: { ...bearer(TOKEN), 'content-type': 'message/rfc822', 'x-envelope-to': address } });
		request.on('error', () => undefined);
		request.write('Subject: cut short\r\n\r\n');
		await new Promise((resolve) => setTimeout(resolve, 100));
		request.destroy();
		for (let waited = 0; served.results.length === 0 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
		expect(served.results).toEqual([{ answer: expect.objectContaining({ status: 400 }) }]);
		expect(await kept()).toEqual({ spool: [], log: [] });
	});

	describe('a body that stops coming, or comes too slowly', () => {
		/** A raw post that sends its start, then `drip` (a byte every 20 ms, forever) or nothing more: its answer. */
		async function stalledPost(url: string, address: string, drip: boolean): Promise<{ status: number; connection: string | undefined; json: { reply: string; reasons: string[] } }> {
			const request = http.request(url, { method: 'POST', headers: { ...bearer(TOKEN), 'content-type': 'message/rfc822', 'x-envelope-to': address } });
			request.on('error', () => undefined);
			request.write('Subject: stalled\r\n\r\n');
			const dripping = drip ? setInterval(() => request.write('.'), 20) : undefined;
			try {
				const response = await new Promise<http.IncomingMessage>((resolve) => request.on('response', resolve));
				let text = '';
				for await (const data of response) text += String(data);
				return { status: response.statusCode ?? 0, connection: response.headers.connection, json: JSON.parse(text) as { reply: string; reasons: string[] } };
			} finally {
				clearInterval(dripping);
				request.destroy();
			}
		}

		it('answers a post silent past its idle deadline 503 (the provider retries), unread and nothing kept', async () => {
			const { served, address, kept } = await door({ format: 'raw', token: TOKEN }, { bodyDeadlines: { idleMs: 300, wholeMs: 60_000 } });
			const answer = await stalledPost(served.url, address, false);
			expect(answer).toMatchObject({ status: 503, connection: 'close', json: { reply: '421 4.4.2 Message not received in time, closing connection', reasons: ['The request sent nothing for 0.3 s'] } });
			expect(await kept()).toEqual({ spool: [], log: [] });
		});

		it('answers a body dripped a byte at a time 503 once its whole deadline passed, each byte keeping the idle one off', async () => {
			const { served, address, kept } = await door({ format: 'raw', token: TOKEN }, { bodyDeadlines: { idleMs: 500, wholeMs: 1500 } });
			const answer = await stalledPost(served.url, address, true);
			expect(answer).toMatchObject({ status: 503, json: { reasons: ['The body did not arrive within 1.5 s'] } });
			expect(await kept()).toEqual({ spool: [], log: [] });
		});
	});

	describe('mailgun (a route forwarding to .../mime)', () => {
		it('spools body-mime byte-exact, with the envelope from sender and recipient, and the client IP and HELO of the provider\'s Received hop', async () => {
			const { url, address, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY });
			const raw = await signedEightBit(address, 'iso-8859-1');
			const form = multipart(mailgunFields(raw, { sender: 'ann@company.test', recipient: address }, SIGNING_KEY));
			const answer = await post(url, form.body, form.headers);
			expect(answer.status).toBe(200);
			const [entry] = (await kept()).spool;
			expect(entry.raw.equals(raw)).toBe(true);
			expect(entry.envelope).toEqual({ clientIp: HOP.ip, helo: HOP.helo, mailFrom: 'ann@company.test', rcpt: [address] });
			expect(entry.decision?.auth?.dmarc.result).toBe('pass');
		});

		it('reads the urlencoded post Mailgun sends as well', async () => {
			const { url, address, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY });
			const raw = await signedEightBit(address, 'utf-8');
			const body = mailgunFields(raw, { sender: 'ann@company.test', recipient: address }, SIGNING_KEY)
				.map(([name, value]) => `${encodeURIComponent(name)}=${[...(Buffer.isBuffer(value) ? value : Buffer.from(value))].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}`)
				.join('&');
			expect((await post(url, body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(200);
			expect((await kept()).spool[0].raw.equals(raw)).toBe(true);
		});

		it('refuses a bad signature and a stale timestamp with 401, a replayed token with 503, keeping nothing', async () => {
			const { url, address, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY });
			const raw = await signedEightBit(address, 'utf-8');
			const envelope = { sender: 'ann@company.test', recipient: address };
			const forged = multipart(mailgunFields(raw, envelope, 'another-key'));
			const stale = multipart(mailgunFields(raw, envelope, SIGNING_KEY, new Date(Date.now() - 301_000)));
			for (const form of [forged, stale]) expect((await post(url, form.body, form.headers)).status).toBe(401);
			expect(await kept()).toEqual({ spool: [], log: [] });
			const good = multipart(mailgunFields(raw, envelope, SIGNING_KEY));
			expect((await post(url, good.body, good.headers)).status).toBe(200);
			const again = multipart(mailgunFields(raw, envelope, SIGNING_KEY, new Date(), good.body.toString('latin1').match(/name="token"\r\n\r\n([0-9a-f]+)/)![1]));
			expect((await post(url, again.body, again.headers)).json).toMatchObject({ status: 'try-again', reasons: [REPLAYED] });
			expect((await kept()).spool).toHaveLength(1);
		});

		it("believes no client IP the sender wrote into the provider's hop through its HELO, nor a hop below it", async () => {
			const { url, address, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY });
			// customer.test's SPF allows 198.51.100.0/24: a forged From passes DMARC if the checks believe such an IP. The
			// provider writes the sender's HELO as given into its hop (on top); the sender writes any hop below it.
			const allowed = '198.51.100.7';
			const forgedHop = (heloAsWritten: string) => `Received: from ${heloAsWritten} (unknown [${HOP.ip}]) by mxa.provider.test with ESMTP id 17a2; ${new Date().toUTCString()}`;
			const helos = [`x([${allowed}])`, `x (x [${allowed}])`, `x (x [${allowed}]) by y`, `"x [${allowed}]"`, `x;y`];
			for (const helo of helos) {
				const raw = prependHeaders(await compose({ from: 'carol@customer.test', to: address, subject: 'forged', text: 'x' }), forgedHop(helo), `Received: from mail.customer.test (mail.customer.test [${allowed}]) by mx.customer.test`);
				const form = multipart(mailgunFields(raw, { sender: 'carol@customer.test', recipient: address }, SIGNING_KEY));
				const answer = await post(url, form.body, form.headers);
				expect({ helo, status: answer.status }).toEqual({ helo, status: 406 });
			}
			expect((await kept()).spool).toEqual([]);
		});

		it('refuses spoofed mail with 406 (Mailgun stops retrying), logged', async () => {
			const { url, address, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY });
			const form = multipart(mailgunFields(await spoofed(address), { sender: 'carol@customer.test', recipient: address }, SIGNING_KEY));
			const answer = await post(url, form.body, form.headers);
			expect(answer.status).toBe(406);
			expect(answer.json.status).toBe('refused');
			expect((await kept()).log.map((entry) => entry.kind)).toEqual(['rejected']);
		});

		it('answers a deferral 503 with Retry-After and releases the token: Mailgun\'s retry of the same post is taken', async () => {
			let dnsDown = true;
			const zoned = zoneResolver(zone);
			const resolver: DnsResolver = async (name, rrtype) => (dnsDown ? await Promise.reject(Object.assign(new Error('DNS is down'), { code: 'ESERVFAIL' })) : await zoned(name, rrtype));
			const { url, address, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY }, { resolver, inbox: { onDnsError: 'defer' } });
			const form = multipart(mailgunFields(await signedEightBit(address, 'utf-8'), { sender: 'ann@company.test', recipient: address }, SIGNING_KEY));
			const first = await post(url, form.body, form.headers);
			expect(first.status).toBe(503);
			expect(first.headers.get('retry-after')).toBe('60');
			expect(first.json).toMatchObject({ status: 'try-again', reply: expect.stringMatching(/^451 4\.7\.0 /) });
			expect((await kept()).log.map((entry) => entry.kind)).toEqual(['deferred']);
			dnsDown = false;
			const retry = await post(url, form.body, form.headers);
			expect(retry.status).toBe(200);
			expect((await kept()).spool).toHaveLength(1);
		});

		it('answers local trouble 503 without its cause, which goes to onTrouble; the token is released for the retry', async () => {
			const real = getStore();
			let failing = true;
			const flaky: Store = { ...real, spoolPut: async (input) => (failing ? await Promise.reject(new Error('disk full at /var/lib/secret')) : await real.spoolPut(input)) };
			const { url, address, kept, troubles } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY }, { store: flaky });
			const form = multipart(mailgunFields(await signedEightBit(address, 'utf-8'), { sender: 'ann@company.test', recipient: address }, SIGNING_KEY));
			const first = await post(url, form.body, form.headers);
			expect(first.status).toBe(503);
			expect(first.json).toEqual({ status: 'try-again', reply: '451 4.3.0 Temporary local problem, try again later' });
			expect(troubles.map((error) => error.message)).toEqual(['disk full at /var/lib/secret']);
			failing = false;
			expect((await post(url, form.body, form.headers)).status).toBe(200);
			expect((await kept()).spool).toHaveLength(1);
		});
	});

	describe('sendgrid (Inbound Parse, raw MIME)', () => {
		it('spools the email field byte-exact with the envelope and sender_ip; Basic credentials from the URL', async () => {
			const { url, address, kept } = await door({ format: 'sendgrid', token: TOKEN });
			const raw = await signedEightBit(address, 'iso-8859-1');
			const form = multipart(sendgridFields(raw, { from: 'ann@company.test', to: [address] }, '192.0.2.25'));
			expect((await post(url, form.body, form.headers)).status).toBe(401);
			expect(await kept()).toEqual({ spool: [], log: [] });
			expect((await post(url, form.body, { ...form.headers, ...basic(TOKEN) })).status).toBe(200);
			const [entry] = (await kept()).spool;
			expect(entry.raw.equals(raw)).toBe(true);
			// sender_ip is the client; the HELO is the hop's only when the hop is that same client (here it is not).
			expect(entry.envelope).toEqual({ clientIp: '192.0.2.25', helo: null, mailFrom: 'ann@company.test', rcpt: [address] });
		});

		it("takes the HELO from the provider's hop when that hop is the sender_ip client, however the address is written", async () => {
			const { url, address, kept } = await door({ format: 'sendgrid', token: TOKEN });
			const ipv6 = `Received: from mail.company.test (mail.company.test [IPv6:2001:db8::25]) by mx.sendgrid.test with ESMTP id 9c1; ${new Date().toUTCString()}`;
			const posts = [
				sendgridFields(await signedEightBit(address, 'utf-8'), { from: 'ann@company.test', to: [address] }, HOP.ip),
				// Above the first hop: the provider's is the topmost, the one below is never read.
				sendgridFields(prependHeaders(await signedEightBit(address, 'utf-8'), ipv6), { from: 'ann@company.test', to: [address] }, '2001:DB8:0::25'),
			];
			for (const fields of posts) {
				const form = multipart(fields);
				expect((await post(url, form.body, { ...form.headers, ...basic(TOKEN) })).json).toMatchObject({ status: 'accepted' });
			}
			// A null sender's SPF is then checked against that HELO's domain, as over SMTP.
			expect((await kept()).spool.map((entry) => entry.envelope.helo).sort()).toEqual([HOP.helo, 'mail.company.test'].sort());
		});

		it('answers a final refusal 200 "refused" (SendGrid retries anything else), logged', async () => {
			const { url, address, kept } = await door({ format: 'sendgrid', token: TOKEN });
			const form = multipart(sendgridFields(await spoofed(address), { from: 'carol@customer.test', to: [address] }, '203.0.113.9'));
			const answer = await post(url, form.body, { ...form.headers, ...basic(TOKEN) });
			expect(answer.status).toBe(200);
			expect(answer.json.status).toBe('refused');
			expect(await kept()).toMatchObject({ spool: [], log: [{ kind: 'rejected' }] });
		});
	});

	describe('postmark (inbound JSON with RawEmail)', () => {
		it('spools RawEmail byte-exact (UTF-8 8-bit body) with OriginalRecipient and the Return-Path', async () => {
			const { url, address, kept } = await door({ format: 'postmark', token: TOKEN });
			const raw = await signedEightBit(address, 'utf-8');
			const answer = await post(url, JSON.stringify(postmarkPayload(raw.toString('utf8'), { from: 'ann@company.test', to: address })), { ...basic(TOKEN), 'content-type': 'application/json' });
			expect(answer.status).toBe(200);
			const [entry] = (await kept()).spool;
			expect(entry.raw.equals(raw)).toBe(true);
			expect(entry.envelope).toEqual({ clientIp: HOP.ip, helo: HOP.helo, mailFrom: 'ann@company.test', rcpt: [address] });
		});

		it('refuses spoofed mail with 403 (Postmark stops retrying); no RawEmail is a 400 naming the option', async () => {
			const { url, address, kept } = await door({ format: 'postmark', token: TOKEN });
			const headers = { ...bearer(TOKEN), 'content-type': 'application/json' };
			const refused = await post(url, JSON.stringify(postmarkPayload((await spoofed(address)).toString('utf8'), { from: 'carol@customer.test', to: address })), headers);
			expect(refused.status).toBe(403);
			expect(refused.json.status).toBe('refused');
			const { RawEmail: _, ...withoutRaw } = postmarkPayload('x', { from: 'ann@company.test', to: address });
			const bad = await post(url, JSON.stringify(withoutRaw), headers);
			expect(bad.status).toBe(400);
			expect(bad.json.reasons).toEqual([expect.stringMatching(/Include raw email content in JSON payload/)]);
			// Postmark's post, authenticated: logged (Postmark gives up on it after its retries).
			expect((await kept()).log.map((entry) => entry.kind)).toEqual(['rejected', 'rejected']);
		});
	});

	describe('ses (an SNS notification of the receipt rule\'s SNS action)', () => {
		async function sesDoor(more: Partial<HttpDoorSettings> = {}) {
			const sns = snsSigner();
			const opened = await door({ format: 'ses', token: null, snsTopicArns: [TOPIC_ARN], ...more }, { fetchCertificate: sns.fetchCertificate });
			const notify = async (raw: Buffer, options: Parameters<typeof sns.message>[1] & { encoding?: 'BASE64' | 'UTF8' } = {}, headers: Record<string, string> = {}) => {
				const body = sns.message({ Type: 'Notification', Subject: 'Amazon SES Email Receipt Notification', Message: sesNotification(raw, { source: 'ann@company.test', recipients: [opened.address] }, options.encoding) }, options);
				return { body, answer: await post(opened.url, JSON.stringify(body), { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification', ...headers }) };
			};
			return { ...opened, sns, notify };
		}

		it('spools the BASE64 content byte-exact (signature v2 and v1), the envelope from the notification, the hop from Received', async () => {
			const { address, kept, notify, sns } = await sesDoor();
			const raw = await signedEightBit(address, 'iso-8859-1');
			expect((await notify(raw)).answer.status).toBe(200);
			const utf8 = await signedEightBit(address, 'utf-8');
			expect((await notify(utf8, { version: '1', encoding: 'UTF8' })).answer.status).toBe(200);
			const spool = (await kept()).spool;
			expect(spool.map((entry) => entry.raw.equals(raw) || entry.raw.equals(utf8))).toEqual([true, true]);
			expect(spool[0].envelope).toEqual({ clientIp: HOP.ip, helo: HOP.helo, mailFrom: 'ann@company.test', rcpt: [address] });
			// One fetch: the certificate is cached per URL.
			expect(sns.fetched).toEqual([CERT_URL]);
		});

		it('refuses, without fetching anything, a certificate anywhere but https://sns.<region>.amazonaws.com/*.pem, and a topic not pinned', async () => {
			const { address, kept, notify, sns } = await sesDoor();
			const raw = await signedEightBit(address, 'utf-8');
			for (const certUrl of [
				'https://sns.eu-west-1.amazonaws.com.attacker.test/cert.pem',
				'http://sns.eu-west-1.amazonaws.com/cert.pem',
				'https://user@sns.eu-west-1.amazonaws.com/cert.pem',
				'https://sns.eu-west-1.amazonaws.com:8443/cert.pem',
				'https://sns.eu-west-1.amazonaws.com/cert.txt',
				'https://attacker.test/sns.eu-west-1.amazonaws.com/cert.pem',
			]) {
				expect((await notify(raw, { certUrl })).answer.status).toBe(401);
			}
			const otherTopic = await notify(raw, { topicArn: 'arn:aws:sns:eu-west-1:999999999999:theirs' });
			expect(otherTopic.answer.json.reasons).toEqual([expect.stringMatching(/not one this inbox accepts/)]);
			expect(sns.fetched).toEqual([]);
			expect(await kept()).toEqual({ spool: [], log: [] });
		});

		it('refuses a bad signature and an old message with 401, a replayed one with 503', async () => {
			const { address, kept, notify, url } = await sesDoor();
			const raw = await signedEightBit(address, 'utf-8');
			const { body } = await notify(raw);
			const tampered = { ...body, Message: body.Message.replace('"BASE64"', '"UTF8" ') };
			expect((await post(url, JSON.stringify(tampered), { 'content-type': 'text/plain' })).status).toBe(401);
			expect((await post(url, JSON.stringify(body), { 'content-type': 'text/plain' })).json.reasons).toEqual([REPLAYED]);
			expect((await notify(raw, { at: new Date(Date.now() - 2 * 3600_000) })).answer.status).toBe(401);
			expect((await kept()).spool).toHaveLength(1);
		});

		it("answers SNS's retry of a message still being decided 503, not a 4xx SNS never retries: its later retry is taken", async () => {
			// SNS gives up waiting after about 15 s and posts the same message again, while the first post is still checked.
			let release: () => void = () => undefined;
			const checked = new Promise<void>((resolve) => (release = resolve));
			let dnsDown = true;
			const zoned = zoneResolver(zone);
			const resolver: DnsResolver = async (name, rrtype) => (await checked, dnsDown ? await Promise.reject(Object.assign(new Error('DNS is down'), { code: 'ESERVFAIL' })) : await zoned(name, rrtype));
			const sns = snsSigner();
			const { url, address, kept } = await door({ format: 'ses', token: null, snsTopicArns: [TOPIC_ARN] }, { fetchCertificate: sns.fetchCertificate, resolver, inbox: { onDnsError: 'defer' } });
			const body = JSON.stringify(sns.message({ Type: 'Notification', Message: sesNotification(await signedEightBit(address, 'utf-8'), { source: 'ann@company.test', recipients: [address] }) }));
			const first = post(url, body, { 'content-type': 'text/plain' });
			await new Promise((resolve) => setTimeout(resolve, 300));
			const retry = await post(url, body, { 'content-type': 'text/plain' });
			expect({ status: retry.status, json: retry.json.status }).toEqual({ status: 503, json: 'try-again' });
			release();
			expect((await first).status).toBe(503);
			expect((await kept()).spool).toEqual([]);
			dnsDown = false;
			expect((await post(url, body, { 'content-type': 'text/plain' })).status).toBe(200);
			expect((await kept()).spool).toHaveLength(1);
		});

		it('logs an authenticated post it cannot take (SNS never posts a 4xx again): a message over the limit, a notification without one', async () => {
			const sns = snsSigner();
			const { url, address, kept } = await door({ format: 'ses', token: null, snsTopicArns: [TOPIC_ARN] }, { fetchCertificate: sns.fetchCertificate, inbox: { maxMessageBytes: 2000 } });
			const big = await compose({ from: 'ann@company.test', to: address, subject: 'big', text: 'x'.repeat(5000) });
			const tooLarge = await post(url, JSON.stringify(sns.message({ Type: 'Notification', Message: sesNotification(big, { source: 'ann@company.test', recipients: [address] }) })), { 'content-type': 'text/plain' });
			expect(tooLarge.status).toBe(413);
			const s3Only = JSON.stringify({ ...JSON.parse(sesNotification(big, { source: 'ann@company.test', recipients: [address] })), content: undefined });
			const noMessage = JSON.stringify(sns.message({ Type: 'Notification', Message: s3Only }));
			// Posted again (a captured one, within its hour): logged once.
			for (let time = 0; time < 3; time++) expect((await post(url, noMessage, { 'content-type': 'text/plain' })).status).toBe(400);
			const { spool, log } = await kept();
			expect(spool).toEqual([]);
			expect(log).toEqual(
				expect.arrayContaining([
					expect.objectContaining({ kind: 'rejected', details: { verdict: expect.objectContaining({ smtpCode: 552, reasons: [expect.stringMatching(/^The message is \d+ bytes, over the limit of 2000/)] }) } }),
					expect.objectContaining({ kind: 'rejected', details: { verdict: expect.objectContaining({ smtpCode: 554, reasons: [expect.stringMatching(/carries no message/)] }) } }),
				]),
			);
			// An unauthenticated post is not logged: anyone could fill the log.
			expect((await post(url, JSON.stringify({ ...sns.message({ Type: 'Notification', Message: s3Only }), Signature: 'AAAA' }), { 'content-type': 'text/plain' })).status).toBe(401);
			expect((await kept()).log).toHaveLength(2);
		});

		it('answers a final refusal 200 "refused" (SNS retries anything else), logged', async () => {
			const { address, kept, notify } = await sesDoor();
			const { answer } = await notify(await spoofed(address));
			expect(answer.status).toBe(200);
			expect(answer.json.status).toBe('refused');
			expect(await kept()).toMatchObject({ spool: [], log: [{ kind: 'rejected' }] });
		});

		it('logs a SubscriptionConfirmation with its SubscribeURL for the admin to open, answers 200, runs nothing', async () => {
			const { url, sns, kept, served } = await sesDoor();
			const subscribeUrl = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=2336412f37`;
			const body = sns.message({ Type: 'SubscriptionConfirmation', Message: `You have chosen to subscribe to the topic ${TOPIC_ARN}.`, SubscribeURL: subscribeUrl, Token: '2336412f37' });
			const answer = await post(url, JSON.stringify(body), { 'content-type': 'text/plain', 'x-amz-sns-message-type': 'SubscriptionConfirmation' });
			expect(answer.status).toBe(200);
			expect(answer.json.status).toBe('accepted');
			// Neither a message to emit nor one set aside.
			expect(served.results).toEqual([{ answer: expect.objectContaining({ status: 200 }) }]);
			const { spool, log } = await kept();
			expect(spool).toEqual([]);
			expect(log).toEqual([expect.objectContaining({ kind: 'forwarding-confirmation', details: { verification: { provider: 'Amazon SNS', code: null, confirmUrl: subscribeUrl, requestedBy: TOPIC_ARN } } })]);
		});
	});

	describe('hostile posts get a clear answer in bounded work', () => {
		it('unsigned posts held open cannot fill memory: past the in-flight budget a post is answered 503 unread, and taken once there is room', async () => {
			// Mailgun's signature is in the body: anyone can make the door buffer up to its cap before it is checked.
			const budget = httpBudget(() => 251 * 1024);
			const { url, address, kept, troubles } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY }, { inbox: { maxMessageBytes: 200 * 1024 }, budget });
			const open = http.request(url, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=held' } });
			const openAnswer = new Promise<number>((resolve) => open.on('response', (response) => (response.resume(), resolve(response.statusCode ?? 0)))).catch(() => 0);
			open.on('error', () => undefined);
			open.write(Buffer.alloc(250 * 1024, 'a'));
			await new Promise((resolve) => setTimeout(resolve, 300));
			const form = multipart(mailgunFields(await signedEightBit(address, 'utf-8'), { sender: 'ann@company.test', recipient: address }, SIGNING_KEY));
			const spent = await post(url, form.body, form.headers);
			expect(spent.status).toBe(503);
			expect(spent.json).toMatchObject({ status: 'try-again', reply: expect.stringMatching(/^451 4\.3\.1/) });
			expect(troubles.map((error) => error.message)).toEqual([expect.stringMatching(/^The HTTP doors' in-flight budget of 257024 bytes is spent: 1 message answered 503/)]);
			open.end();
			expect(await openAnswer).toBe(400);
			const retried = multipart(mailgunFields(await signedEightBit(address, 'utf-8'), { sender: 'ann@company.test', recipient: address }, SIGNING_KEY));
			expect((await post(url, retried.body, retried.headers)).status).toBe(200);
			expect((await kept()).spool).toHaveLength(1);
		});

		it('a 5 MB header line in a form part: 400', async () => {
			const { url, kept } = await door({ format: 'sendgrid', token: TOKEN });
			const boundary = 'xYzZYhostile';
			const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="email"\r\nX-Long: ${'a'.repeat(5 * 1024 * 1024)}\r\n\r\nx\r\n--${boundary}--\r\n`)]);
			const answer = await post(url, body, { ...basic(TOKEN), 'content-type': `multipart/form-data; boundary=${boundary}` });
			expect(answer.status).toBe(400);
			expect(answer.json.status).toBe('bad-request');
			expect(await kept()).toMatchObject({ spool: [], log: [{ kind: 'rejected', details: { verdict: { reasons: [expect.stringMatching(/Malformed part header/)] } } }] });
		});

		it('a 5 MB Received line in the message: the hop is read from a bounded start (no client IP made up), the checks refuse it', async () => {
			const { url, address, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY });
			const raw = prependHeaders(await compose({ from: 'ann@sender.test', to: address, subject: 'long', text: 'x' }), `Received: from x (x [${'1'.repeat(5 * 1024 * 1024)}]) by mx`);
			const form = multipart(mailgunFields(raw, { sender: 'ann@sender.test', recipient: address }, SIGNING_KEY));
			const started = Date.now();
			const answer = await post(url, form.body, form.headers);
			expect(Date.now() - started).toBeLessThan(10_000);
			// The checks refuse a header section over 1 MB for good: Mailgun is told 406, the intake log keeps why.
			expect(answer.status).toBe(406);
			expect(answer.json).toMatchObject({ status: 'refused', reply: expect.stringMatching(/^552 5\.3\.4 header section is \d+ bytes/) });
			expect(await kept()).toMatchObject({ spool: [], log: [{ kind: 'rejected', clientIp: null }] });
		});

		it('10,000 form fields: 400, reading stopped at the limit', async () => {
			const { url, kept } = await door({ format: 'mailgun', token: null, mailgunSigningKey: SIGNING_KEY });
			const form = multipart(Array.from({ length: 10_000 }, (_, i) => [`f${i}`, 'x'] as [string, string]));
			const answer = await post(url, form.body, form.headers).catch((error: Error) => error);
			if (answer instanceof Error) throw answer;
			expect(answer.status).toBe(400);
			expect(answer.json.reasons).toEqual([expect.stringMatching(/more parts than a provider sends/)]);
			expect(await kept()).toEqual({ spool: [], log: [] });
		});

		it('deeply nested JSON: 400', async () => {
			const { url, address, kept } = await door({ format: 'postmark', token: TOKEN });
			const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
			for (const body of [nested, `{"OriginalRecipient":"${address}","RawEmail":"x","Headers":${nested}}`, '{"RawEmail": ']) {
				const answer = await post(url, body, { ...bearer(TOKEN), 'content-type': 'application/json' });
				expect(answer.status).toBe(400);
				expect(answer.json.status).toBe('bad-request');
			}
			expect(await kept()).toMatchObject({ spool: [], log: [{ kind: 'rejected' }, { kind: 'rejected' }, { kind: 'rejected' }] });
		});
	});

	it('refuses at creation a format without the secret it needs', async () => {
		const store = getStore();
		const inbox = parseInboxConfig({ address: 'settings@inbox.example.test' });
		for (const settings of [{ format: 'raw', token: null }, { format: 'mailgun', token: TOKEN }, { format: 'sendgrid', token: null }, { format: 'ses', token: TOKEN, snsTopicArns: [] }] as HttpDoorSettings[]) {
			expect(() => createHttpDoor({ store, inbox, inboxId: 'x', settings })).toThrow(/The HTTP door \(\w+\) needs/);
		}
		// A freshness window that is no number would take any timestamp as fresh.
		for (const maxSkewSeconds of [Number.NaN, Infinity, -1, 0]) {
			expect(() => createHttpDoor({ store, inbox, inboxId: 'x', settings: { format: 'raw', token: null, hmacSecret: HMAC_SECRET, maxSkewSeconds } })).toThrow(/freshness window/);
		}
	});
});
