import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';

import type { Envelope } from '../../../core/intake/types';
import { readAll } from '../../../core/message-bytes';
import {
	attachHostedInbox,
	DEFAULT_LISTENER_SETTINGS,
	type AttachedInbox,
	type HostedInboxBinding,
	type ListenerSettings,
} from '../../../core/smtp/listener';
import type { SmtpReply } from '../../../core/replies';
import { createSelfSignedCertificate } from '../../../core/smtp/certificate';
import { receivingFolder } from '../../../core/smtp/receiving';
import { freePort } from '../../support/ports';
import { spawnChild, waitForLines } from '../store/children/spawn';
import { messageOfSize, RawSmtpClient } from './smtp-client';

/** Stands for the operator's own certificate (from the credential): the listener treats it as real. */
const operatorCertificate = createSelfSignedCertificate('mx.inbox.example.test');
const LIMIT = 30 * 1024 * 1024;
const OVERSIZE = 31 * 1024 * 1024;

interface Received {
	raw: Buffer;
	envelope: Envelope;
}

function binding(address: string, reply: (raw: Buffer) => SmtpReply | Promise<SmtpReply> = () => ({ code: 250, enhancedCode: '2.0.0', text: 'Queued' })) {
	const received: Received[] = [];
	const inbox: HostedInboxBinding = {
		address,
		maxMessageBytes: LIMIT,
		receive: async (message, envelope) => {
			const raw = await readAll(message);
			received.push({ raw, envelope });
			return await reply(raw);
		},
	};
	return { inbox, received };
}

function settings(overrides: Partial<ListenerSettings> = {}): ListenerSettings {
	return { ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port: 0, ...overrides };
}

async function session(port: number): Promise<RawSmtpClient> {
	const client = await RawSmtpClient.open(port);
	await client.reply();
	await client.command('EHLO client.example.org');
	return client;
}

const attached: AttachedInbox[] = [];
afterEach(async () => {
	await Promise.all(attached.splice(0).map((a) => a.detach()));
});

async function attach(s: ListenerSettings, inbox: HostedInboxBinding): Promise<AttachedInbox> {
	const a = await attachHostedInbox(s, inbox);
	attached.push(a);
	return a;
}

describe('SMTP listener of the hosted inbox', () => {
	test('hands the inbox a large message read from the file it was written to as it arrived, and removes that file once answered', async () => {
		let filesWhileChecking: string[] = [];
		const { inbox, received } = binding('support@inbox.example.test', () => {
			filesWhileChecking = readdirSync(receivingFolder());
			return { code: 250, enhancedCode: '2.0.0', text: 'Queued' };
		});
		const { port } = await attach(settings(), inbox);
		const transport = createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
		const file = randomBytes(2 * 1024 * 1024);
		await transport.sendMail({ from: 'a@customer.example', to: 'support@inbox.example.test', subject: 'large', text: 'x', attachments: [{ filename: 'f.bin', content: file }] });
		transport.close();
		expect(filesWhileChecking).toHaveLength(1);
		expect(readdirSync(receivingFolder())).toEqual([]);
		expect(received[0].raw.toString('latin1')).toContain(file.subarray(0, 57).toString('base64'));
	});

	test('greets without naming any hosted address, advertises SIZE = the inbox limit and STARTTLS, and takes a message from nodemailer with the real envelope', async () => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port, usesSelfSignedCertificate } = await attach(settings({ serverName: 'mx.inbox.example.test' }), inbox);
		expect(usesSelfSignedCertificate).toBe(true);

		const client = await RawSmtpClient.open(port);
		expect(await client.reply()).toBe('220 mx.inbox.example.test ESMTP');
		const ehlo = await client.command('EHLO client.example.org');
		expect(ehlo).toMatch(new RegExp(`^250[- ]SIZE ${LIMIT}$`, "m"));
		expect(ehlo).toContain('STARTTLS');
		expect(ehlo).not.toContain('AUTH');
		client.close();

		const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'mx.sender.example' });
		const info = await transport.sendMail({
			from: 'Jane <jane@sender.example>',
			to: 'Support@Inbox.Example.Test',
			subject: 'Hello',
			text: 'Body',
			envelope: { from: 'bounces@sender.example', to: ['Support@Inbox.Example.Test'] },
		});
		expect(info.response).toBe('250 2.0.0 Queued');
		expect(received).toHaveLength(1);
		expect(received[0].envelope).toEqual({
			clientIp: '127.0.0.1',
			helo: 'mx.sender.example',
			mailFrom: 'bounces@sender.example',
			rcpt: ['Support@inbox.example.test'],
		});
		expect(received[0].raw.toString()).toContain('Subject: Hello');
	});

	test('refuses an unknown recipient at the hosted domain and a relay attempt to an outside domain with 550 5.1.1', async () => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port } = await attach(settings(), inbox);
		const client = await session(port);
		expect(await client.command('MAIL FROM:<a@sender.example>')).toMatch(/^250 /);
		expect(await client.command('RCPT TO:<sales@inbox.example.test>')).toBe('550 5.1.1 <sales@inbox.example.test>: no such hosted inbox here');
		expect(await client.command('RCPT TO:<victim@gmail.com>')).toMatch(/^550 5\.1\.1 <victim@gmail\.com>: relaying denied/);
		expect(await client.command('DATA')).toMatch(/^503 /);
		client.close();

		const transport = createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
		await expect(transport.sendMail({ from: 'a@sender.example', to: 'victim@gmail.com', text: 'relay me' })).rejects.toMatchObject({
			responseCode: 550,
		});
		expect(received).toHaveLength(0);
	});

	test('refuses a declared 31 MB message at MAIL FROM and an undeclared one after DATA with 552 5.3.4, never handing it on', async () => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port } = await attach(settings(), inbox);
		const client = await session(port);
		expect(await client.command(`MAIL FROM:<a@sender.example> SIZE=${OVERSIZE}`)).toMatch(/^552 5\.3\.4 /);

		expect(await client.command('MAIL FROM:<a@sender.example>')).toMatch(/^250 /);
		expect(await client.command('RCPT TO:<support@inbox.example.test>')).toMatch(/^250 /);
		expect(await client.command('DATA')).toMatch(/^354 /);
		await client.write(messageOfSize(OVERSIZE));
		await client.write('\r\n.\r\n');
		expect(await client.reply(60_000)).toMatch(/^552 5\.3\.4 Message too big: the limit of support@inbox\.example\.test is 31457280 bytes/);
		// The session goes on: a normal message right after is accepted.
		expect(await client.command('MAIL FROM:<a@sender.example>')).toMatch(/^250 /);
		client.close();
		expect(received).toHaveLength(0);
	});

	test('takes one hosted inbox per transaction: a second inbox is answered 452 4.5.3 and gets its own transaction, so its failure is not hidden behind the first one\'s 250', async () => {
		const port = await freePort();
		const s = settings({ port });
		const a = binding('a@inbox.example.test');
		const b = binding('b@inbox.example.test', () => ({ code: 451, enhancedCode: '4.3.0', text: 'Temporary local problem, try again later' }));
		await attach(s, a.inbox);
		await attach(s, b.inbox);
		const client = await session(port);
		await client.command('MAIL FROM:<x@sender.example>');
		expect(await client.command('RCPT TO:<a@inbox.example.test>')).toMatch(/^250 /);
		expect(await client.command('RCPT TO:<b@inbox.example.test>')).toBe(
			'452 4.5.3 <b@inbox.example.test>: one hosted inbox per message, send it for this address in another transaction',
		);
		expect(await client.command('DATA')).toMatch(/^354 /);
		await client.write('From: x@sender.example\r\nSubject: both\r\n\r\nfor a and b\r\n.\r\n');
		expect(await client.reply()).toMatch(/^250 /);
		// The sending MTA's next transaction, for the inbox it was told to try again: that inbox's own answer.
		await client.command('MAIL FROM:<x@sender.example>');
		expect(await client.command('RCPT TO:<b@inbox.example.test>')).toMatch(/^250 /);
		expect(await client.command('DATA')).toMatch(/^354 /);
		await client.write('From: x@sender.example\r\nSubject: both\r\n\r\nfor a and b\r\n.\r\n');
		expect(await client.reply()).toBe('451 4.3.0 Temporary local problem, try again later');
		client.close();
		expect(a.received.map((r) => r.envelope.rcpt)).toEqual([['a@inbox.example.test']]);
		expect(b.received.map((r) => r.envelope.rcpt)).toEqual([['b@inbox.example.test']]);
	});

	test('drops a client that sends nothing with 421 after the socket timeout', async () => {
		const { port } = await attach(settings({ socketTimeoutMs: 400 }), binding('support@inbox.example.test').inbox);
		const client = await RawSmtpClient.open(port);
		expect(await client.reply()).toMatch(/^220 /);
		expect(await client.reply(5_000)).toMatch(/^421 4\.4\.2 .*Timeout/);
		await client.closedByServer(5_000);
	});

	test('answers 421 to a connection over the limit', async () => {
		const { port } = await attach(settings({ maxConnections: 2 }), binding('support@inbox.example.test').inbox);
		const first = await RawSmtpClient.open(port);
		const second = await RawSmtpClient.open(port);
		expect(await first.reply()).toMatch(/^220 /);
		expect(await second.reply()).toMatch(/^220 /);
		const third = await RawSmtpClient.open(port);
		expect(await third.reply()).toMatch(/^421 .*Too many connected clients/);
		await third.closedByServer(5_000);
		[first, second].forEach((c) => c.close());
	});

	test('sends the reply the inbox chose with its own enhanced code, and a plain 451 4.3.0 when the inbox fails', async () => {
		let fail = false;
		const { inbox } = binding('support@inbox.example.test', () => {
			if (fail) throw new Error('PostgreSQL store at db.internal:5432/inbox (schema hosted_inbox) is unavailable');
			return { code: 550, enhancedCode: '5.7.1', text: 'DMARC policy of sender.example is reject and the message failed it' };
		});
		const { port } = await attach(settings(), inbox);
		const transport = createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
		await expect(transport.sendMail({ from: 'a@sender.example', to: 'support@inbox.example.test', text: 'x' })).rejects.toMatchObject({
			responseCode: 550,
			response: '550 5.7.1 DMARC policy of sender.example is reject and the message failed it',
		});
		fail = true;
		await expect(transport.sendMail({ from: 'a@sender.example', to: 'support@inbox.example.test', text: 'x' })).rejects.toMatchObject({
			responseCode: 451,
			response: '451 4.3.0 Temporary local problem, try again later',
		});
	});

	test('several inboxes share one port, each receiving its own mail; a claimed address or other settings on the port are activation errors', async () => {
		const port = await freePort();
		const s = settings({ port });
		const a = binding('a@inbox.example.test');
		const b = binding('b@inbox.example.test');
		await attach(s, a.inbox);
		const second = await attach(s, b.inbox);
		expect(second.port).toBe(port);
		await expect(attachHostedInbox(s, binding('A@inbox.example.test').inbox)).rejects.toThrow(
			'The hosted address a@inbox.example.test is already used by another active Hosted Inbox Trigger',
		);
		await expect(attachHostedInbox({ ...s, requireTls: true }, binding('c@inbox.example.test').inbox)).rejects.toThrow(
			/already used by the hosted inbox a@inbox\.example\.test, b@inbox\.example\.test with other listener settings/,
		);

		const transport = createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
		await transport.sendMail({ from: 'x@sender.example', to: 'a@inbox.example.test', text: 'for a' });
		await transport.sendMail({ from: 'x@sender.example', to: 'b@inbox.example.test', text: 'for b' });
		expect(a.received.map((r) => r.envelope.rcpt)).toEqual([['a@inbox.example.test']]);
		expect(b.received.map((r) => r.envelope.rcpt)).toEqual([['b@inbox.example.test']]);

		// One inbox leaving keeps the listener for the other.
		await second.detach();
		await expect(transport.sendMail({ from: 'x@sender.example', to: 'b@inbox.example.test', text: 'gone' })).rejects.toMatchObject({
			responseCode: 550,
		});
		await transport.sendMail({ from: 'x@sender.example', to: 'a@inbox.example.test', text: 'still here' });
		expect(a.received).toHaveLength(2);
	});

	test('"require TLS" refuses MAIL FROM in clear text (530 5.7.0) and accepts after STARTTLS', async () => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port } = await attach(settings({ requireTls: true }), inbox);
		const client = await session(port);
		expect(await client.command('MAIL FROM:<a@sender.example>')).toBe('530 5.7.0 Must issue a STARTTLS command first');
		client.close();
		const transport = createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { rejectUnauthorized: false } });
		await transport.sendMail({ from: 'a@sender.example', to: 'support@inbox.example.test', text: 'over TLS' });
		expect(received).toHaveLength(1);
	});

	test.each([false, true])('answers pipelined MAIL, RCPT and DATA in one write (after STARTTLS: %s), and each message on its own', async (tls) => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port } = await attach(settings(), inbox);
		const client = await session(port);
		if (tls) {
			await client.startTls();
			await client.command('EHLO client.example.org');
		}
		for (const n of [1, 2]) {
			const before = client.reads;
			await client.write('MAIL FROM:<a@sender.example>\r\nRCPT TO:<support@inbox.example.test>\r\nDATA\r\n');
			expect([await client.reply(), await client.reply(), await client.reply()]).toEqual([
				'250 2.1.0 Accepted',
				'250 2.1.5 Accepted',
				'354 End data with <CR><LF>.<CR><LF>',
			]);
			expect(client.reads - before).toBe(1);
			expect(await client.command(`Subject: ${n}\r\n\r\nbody\r\n.`)).toBe('250 2.0.0 Queued');
		}
		client.close();
		expect(received.map((r) => r.raw.toString())).toEqual(['Subject: 1\r\n\r\nbody\r\n', 'Subject: 2\r\n\r\nbody\r\n']);
	});

	test('a client refused because the listener is full leaves the connected client its own guard: a deadline while the inbox decides still lets the answer out first', async () => {
		const { inbox, received } = binding('support@inbox.example.test', async () => {
			await new Promise((resolve) => setTimeout(resolve, 800));
			return { code: 250, enhancedCode: '2.0.0', text: 'Queued' };
		});
		const { port } = await attach(settings({ maxConnections: 1, sessionTimeoutMs: 300 }), inbox);
		const client = await session(port);
		for (let i = 0; i < 3; i++) {
			const refused = await RawSmtpClient.open(port);
			expect(await refused.reply()).toMatch(/^421 /);
			await refused.closedByServer(5_000);
		}
		await client.write('MAIL FROM:<x@sender.example>\r\nRCPT TO:<support@inbox.example.test>\r\nDATA\r\n');
		expect([await client.reply(), await client.reply(), await client.reply()]).toEqual(['250 2.1.0 Accepted', '250 2.1.5 Accepted', '354 End data with <CR><LF>.<CR><LF>']);
		expect(await client.command('Subject: slow decision\r\n\r\nbody\r\n.')).toBe('250 2.0.0 Queued');
		expect(await client.reply()).toBe('421 4.4.2 Session time limit exceeded, closing connection');
		await client.closedByServer(5_000);
		expect(received).toHaveLength(1);
	});

	test('with AUTH configured and a certificate set, only an authenticated relay may send', async () => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port } = await attach(settings({ auth: { username: 'relay', password: 's3cret' }, tls: operatorCertificate, errorSleepMs: 10 }), inbox);
		const anonymous = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } });
		await expect(anonymous.sendMail({ from: 'a@sender.example', to: 'support@inbox.example.test', text: 'x' })).rejects.toMatchObject({
			responseCode: 530,
		});
		const wrong = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false }, auth: { user: 'relay', pass: 'nope' } });
		await expect(wrong.sendMail({ from: 'a@sender.example', to: 'support@inbox.example.test', text: 'x' })).rejects.toMatchObject({
			responseCode: 535,
		});
		const relay = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false }, auth: { user: 'relay', pass: 's3cret' } });
		await relay.sendMail({ from: 'a@sender.example', to: 'support@inbox.example.test', text: 'x' });
		expect(received).toHaveLength(1);
	});

	test('a port already taken by another program is a clear activation error', async () => {
		const blocker = createServer();
		await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
		const { port } = blocker.address() as { port: number };
		try {
			await expect(attachHostedInbox(settings({ port }), binding('support@inbox.example.test').inbox)).rejects.toThrow(
				`Port ${port} on 127.0.0.1 is already in use by another program`,
			);
		} finally {
			await new Promise<void>((resolve) => blocker.close(() => resolve()));
		}
	});
});

/** The raw AUTH PLAIN line for a user and password. */
function authPlain(user: string, password: string): string {
	return `AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`;
}

describe('SMTP listener against hostile senders', () => {
	test('one IP cannot lock others out: its 21st connection is refused with 421 while another IP still gets in', async () => {
		const { port } = await attach(settings(), binding('support@inbox.example.test').inbox);
		const held: RawSmtpClient[] = [];
		try {
			for (let i = 0; i < DEFAULT_LISTENER_SETTINGS.maxConnectionsPerClient; i++) {
				const client = await RawSmtpClient.open(port);
				held.push(client);
				expect(await client.reply()).toMatch(/^220 /);
			}
			const extra = await RawSmtpClient.open(port);
			held.push(extra);
			expect(await extra.reply()).toBe('421 4.7.0 Too many connections from your address, try again later');
			await extra.closedByServer(5_000);

			const other = await RawSmtpClient.open(port, '127.0.0.1', '127.0.0.2');
			held.push(other);
			expect(await other.reply()).toMatch(/^220 /);
			expect(await other.command('EHLO other.example.org')).toMatch(/^250/);
		} finally {
			held.forEach((c) => c.close());
		}
	});

	test('a client sending only junk commands (NOOP) is dropped after the junk command limit', async () => {
		const { port } = await attach(settings(), binding('support@inbox.example.test').inbox);
		const client = await session(port);
		let answered = 1; // EHLO counts as junk too.
		let reply = '';
		for (let i = 0; i < 1_000; i++) {
			reply = await client.command('NOOP');
			if (!reply.startsWith('250 ')) break;
			answered++;
		}
		expect(answered).toBe(DEFAULT_LISTENER_SETTINGS.maxJunkCommands);
		expect(reply).toBe('421 4.7.0 Too many junk commands, closing connection');
		await client.closedByServer(5_000);
	});

	test('a client piling up errors is dropped at the hard error limit', async () => {
		const { port } = await attach(settings({ errorSleepMs: 20 }), binding('support@inbox.example.test').inbox);
		const client = await session(port);
		// Every error is answered; the last one is followed by the 421.
		for (let i = 0; i < DEFAULT_LISTENER_SETTINGS.hardErrorLimit; i++) {
			expect(await client.command('MAIL FROM:no-angle-brackets')).toMatch(/^501 /);
		}
		expect(await client.reply()).toBe('421 4.7.0 Too many errors, closing connection');
		await client.closedByServer(5_000);
	});

	test('a client guessing addresses is dropped after too many refused recipients', async () => {
		const { port } = await attach(settings(), binding('support@inbox.example.test').inbox);
		const client = await session(port);
		expect(await client.command('MAIL FROM:<x@sender.example>')).toMatch(/^250 /);
		for (let i = 0; i < DEFAULT_LISTENER_SETTINGS.maxRecipientErrors; i++) {
			expect(await client.command(`RCPT TO:<guess${i}@inbox.example.test>`)).toMatch(/^550 5\.1\.1 /);
		}
		expect(await client.reply()).toBe('421 4.7.0 Too many refused recipients, closing connection');
		await client.closedByServer(5_000);
	});

	test('a message dripped line by line is cut at the DATA deadline (421 4.4.2) and never handed on', async () => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port } = await attach(settings({ dataTimeoutMs: 500 }), inbox);
		const client = await session(port);
		await client.command('MAIL FROM:<x@sender.example>');
		await client.command('RCPT TO:<support@inbox.example.test>');
		expect(await client.command('DATA')).toMatch(/^354 /);
		await client.write('Subject: drip\r\n\r\n');
		// Each line comes well within the idle timeout, so only the deadline can end this.
		for (let i = 0; i < 200 && !client.closed; i++) {
			await client.write('x\r\n');
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		expect(await client.reply()).toBe('421 4.4.2 Message not received in time, closing connection');
		await client.closedByServer(5_000);
		expect(received).toHaveLength(0);
	});

	test('a client that keeps a session busy forever is cut at the session deadline (421 4.4.2)', async () => {
		const { port } = await attach(settings({ sessionTimeoutMs: 500 }), binding('support@inbox.example.test').inbox);
		const client = await session(port);
		for (let i = 0; i < 50 && !client.closed; i++) {
			const reply = await client.command('MAIL FROM:<x@sender.example>').catch((error: Error) => error.message);
			if (!reply.startsWith('250 ')) {
				expect(reply).toBe('421 4.4.2 Session time limit exceeded, closing connection');
				break;
			}
			await client.command('RSET');
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		await client.closedByServer(5_000);
	});

	test('a deadline passing while the inbox decides on a message lets the answer out first, then cuts', async () => {
		const { inbox, received } = binding('support@inbox.example.test', async () => {
			await new Promise((resolve) => setTimeout(resolve, 800));
			return { code: 250, enhancedCode: '2.0.0', text: 'Queued' };
		});
		const { port } = await attach(settings({ sessionTimeoutMs: 300 }), inbox);
		const client = await session(port);
		await client.command('MAIL FROM:<x@sender.example>');
		await client.command('RCPT TO:<support@inbox.example.test>');
		await client.command('DATA');
		expect(await client.command('Subject: slow decision\r\n\r\nbody\r\n.')).toBe('250 2.0.0 Queued');
		expect(await client.reply()).toBe('421 4.4.2 Session time limit exceeded, closing connection');
		await client.closedByServer(5_000);
		expect(received).toHaveLength(1);
	});

	test('without a certificate of its own, the listener refuses AUTH (538 5.7.11) before any password is sent, so nothing gets in', async () => {
		const { inbox, received } = binding('support@inbox.example.test');
		const { port, usesSelfSignedCertificate } = await attach(settings({ auth: { username: 'relay', password: 's3cret' } }), inbox);
		expect(usesSelfSignedCertificate).toBe(true);
		const client = await session(port);
		await client.startTls();
		await client.command('EHLO client.example.org');
		expect(await client.command('AUTH PLAIN')).toBe("538 5.7.11 AUTH needs the listener's own TLS certificate, and none is set");
		expect(await client.command('MAIL FROM:<x@sender.example>')).toMatch(/^530 /);
		client.close();
		const relay = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false }, auth: { user: 'relay', pass: 's3cret' } });
		await expect(relay.sendMail({ from: 'a@sender.example', to: 'support@inbox.example.test', text: 'x' })).rejects.toMatchObject({ responseCode: 538 });
		expect(received).toHaveLength(0);
	});

	test('with a certificate, AUTH guesses are tarpitted and the connection is closed after the third failure', async () => {
		const { port } = await attach(settings({ auth: { username: 'relay', password: 's3cret' }, tls: operatorCertificate, errorSleepMs: 20 }), binding('support@inbox.example.test').inbox);
		const client = await session(port);
		await client.startTls();
		await client.command('EHLO client.example.org');
		for (const guess of ['s3cre', 's3cret!', 'relay'].slice(0, DEFAULT_LISTENER_SETTINGS.maxAuthFailures)) {
			expect(await client.command(authPlain('relay', guess))).toBe('535 5.7.8 Authentication credentials invalid');
		}
		expect(await client.reply()).toBe('421 4.7.0 Too many failed authentication attempts, closing connection');
		await client.closedByServer(5_000);

		// The right password still works, on a new connection.
		const relay = await session(port);
		await relay.startTls();
		await relay.command('EHLO client.example.org');
		expect(await relay.command(authPlain('relay', 's3cret'))).toMatch(/^235 /);
		relay.close();
	});

	test("STARTTLS presents this install's own certificate, kept in its file across restarts, never smtp-server's built-in one", async () => {
		const dir = mkdtempSync(join(tmpdir(), 'hi-tls-'));
		const file = join(dir, 'hosted-inbox-smtp-tls.pem');
		const presented = async (port: number) => {
			const client = await session(port);
			const certificate = await client.startTls();
			client.close();
			return certificate.fingerprint256;
		};
		try {
			const fingerprints: string[] = [];
			for (let start = 0; start < 2; start++) {
				const { child, lines, exited } = spawnChild('../../smtp/children/listener-restart.ts', [file]);
				try {
					await waitForLines(lines, 1, 30_000);
					fingerprints.push(await presented(Number(lines[0])));
				} finally {
					child.kill('SIGKILL');
					await exited;
				}
			}
			expect(fingerprints[1]).toBe(fingerprints[0]);
			expect(fingerprints[0]).toBe(new X509Certificate(readFileSync(file)).fingerprint256);
			expect(statSync(file).mode & 0o777).toBe(0o600);

			// smtp-server's built-in certificate, as a listener without a certificate of its own would present it.
			const builtIn = new SMTPServer({ logger: false, disabledCommands: ['AUTH'] });
			await new Promise<void>((resolve) => builtIn.listen(0, '127.0.0.1', resolve));
			try {
				expect(fingerprints[0]).not.toBe(await presented((builtIn.server.address() as { port: number }).port));
			} finally {
				await new Promise<void>((resolve) => builtIn.close(() => resolve()));
			}
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
