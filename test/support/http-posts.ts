/**
 * The HTTP door behind a real node:http server on 127.0.0.1, and what providers post, shaped as their documentation
 * shows them: Mailgun's forward() to a URL ending in "mime", SendGrid's Inbound Parse with the raw MIME, Postmark's
 * inbound JSON with RawEmail, SES's receipt notification in an SNS notification.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';

import { sendAnswer } from '../../core/http/answers';
import { hmacHex } from '../../core/http/authenticate';
import type { HttpDoorResult, HttpRequestIn } from '../../core/http/door';
import { freePort } from './ports';

export interface Served {
	url: string;
	results: HttpDoorResult[];
	/** Bytes the server had read from each request's connection when it answered, and a little after. */
	bytesRead: Array<{ atAnswer: number; later: () => number }>;
	close(): Promise<void>;
}

export async function serve(door: (request: HttpRequestIn) => Promise<HttpDoorResult>): Promise<Served> {
	const results: HttpDoorResult[] = [];
	const bytesRead: Served['bytesRead'] = [];
	const server = http.createServer((req, res) => {
		void door({ method: req.method ?? 'GET', headers: req.headers, body: req }).then((result) => {
			results.push(result);
			const socket = req.socket;
			bytesRead.push({ atAnswer: socket.bytesRead, later: () => socket.bytesRead });
			void sendAnswer(res, result.answer, req);
		});
	});
	const port = await freePort();
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${port}/webhook/inbox`,
		results,
		bytesRead,
		close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
	};
}

export interface Answer {
	status: number;
	headers: Headers;
	json: { status: string; reply: string; id?: string; reasons?: string[] };
}

export async function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<Answer> {
	const response = await fetch(url, { method: 'POST', headers, body });
	return { status: response.status, headers: response.headers, json: (await response.json()) as Answer['json'] };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const basic = (password: string, user = 'hosted-inbox') => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** A multipart/form-data body, each field's bytes as given (no charset declared, as providers post them). */
export function multipart(fields: Array<[string, Buffer | string]>): { body: Buffer; headers: Record<string, string> } {
	const boundary = `xYzZY${randomBytes(8).toString('hex')}`;
	const parts = fields.map(([name, value]) =>
		Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\r\n')]),
	);
	return { body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** Mailgun's forward() of a route to ".../mime": the documented fields, signed with the signing key. */
export function mailgunFields(raw: Buffer, envelope: { sender: string; recipient: string }, signingKey: string, at = new Date(), token = randomBytes(25).toString('hex')): Array<[string, Buffer | string]> {
	const timestamp = String(Math.floor(at.getTime() / 1000));
	return [
		['recipient', envelope.recipient],
		['sender', envelope.sender],
		['from', envelope.sender],
		['subject', 'from Mailgun'],
		['X-Mailgun-Incoming', 'Yes'],
		['body-mime', raw],
		['timestamp', timestamp],
		['token', token],
		['signature', hmacHex(signingKey, timestamp, token)],
	];
}

/** SendGrid's Inbound Parse with "POST the raw, full MIME message" checked. */
export function sendgridFields(raw: Buffer, envelope: { from: string; to: string[] }, senderIp: string): Array<[string, Buffer | string]> {
	return [
		['dkim', '{@company.test : pass}'],
		['email', raw],
		['to', envelope.to.join(', ')],
		['from', envelope.from],
		['sender_ip', senderIp],
		['spam_report', 'Spam detection software, running on the system "parsley-p1iad2-spamassassin"...'],
		['envelope', JSON.stringify(envelope)],
		['subject', 'from SendGrid'],
		['spam_score', '0.1'],
		['charsets', '{"to":"UTF-8","from":"UTF-8","subject":"UTF-8"}'],
		['SPF', 'pass'],
	];
}

/** Postmark's inbound JSON with RawEmail ("Include raw email content in JSON payload"). */
export function postmarkPayload(raw: string, envelope: { from: string; to: string }): Record<string, unknown> {
	return {
		FromName: 'Ann',
		MessageStream: 'inbound',
		From: envelope.from,
		FromFull: { Email: envelope.from, Name: 'Ann', MailboxHash: '' },
		To: envelope.to,
		ToFull: [{ Email: envelope.to, Name: '', MailboxHash: '' }],
		Cc: '',
		CcFull: [],
		Bcc: '',
		BccFull: [],
		OriginalRecipient: envelope.to,
		Subject: 'from Postmark',
		MessageID: randomUUID(),
		ReplyTo: '',
		MailboxHash: '',
		Date: new Date().toUTCString(),
		TextBody: '…',
		HtmlBody: '',
		StrippedTextReply: '',
		Tag: '',
		Headers: [
			{ Name: 'Return-Path', Value: `<${envelope.from}>` },
			{ Name: 'X-Spam-Status', Value: 'No' },
		],
		Attachments: [],
		RawEmail: raw,
	};
}

/** SES's receipt notification (the SNS action) for a message. */
export function sesNotification(raw: Buffer, envelope: { source: string; recipients: string[] }, encoding: 'BASE64' | 'UTF8' = 'BASE64'): string {
	return JSON.stringify({
		notificationType: 'Received',
		mail: { timestamp: new Date().toISOString(), source: envelope.source, messageId: randomUUID(), destination: envelope.recipients, headersTruncated: false, headers: [], commonHeaders: {} },
		receipt: {
			timestamp: new Date().toISOString(),
			processingTimeMillis: 312,
			recipients: envelope.recipients,
			spamVerdict: { status: 'PASS' },
			virusVerdict: { status: 'PASS' },
			spfVerdict: { status: 'PASS' },
			dkimVerdict: { status: 'PASS' },
			dmarcVerdict: { status: 'PASS' },
			action: { type: 'SNS', topicArn: 'arn:aws:sns:eu-west-1:123456789012:hosted-inbox', encoding },
		},
		content: encoding === 'BASE64' ? raw.toString('base64') : raw.toString('utf8'),
	});
}
