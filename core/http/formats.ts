/**
 * One reader per format: the request, authenticated, turned into the message's bytes and its envelope (and the
 * signed request's replay token), or an SNS subscription to confirm. Reading stops at the format's cap.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

import { isEmailAddress } from '../address';
import type { InboxConfig } from '../inbox';
import type { Envelope } from '../intake/types';
import { checkCredential, checkMailgunSignature, presentedCredential, rawSignatureCheck } from './authenticate';
import { header, HttpRefusal, parseJson, readCapped, readForm, readJson, type BodyReading, type Headers } from './body';
import type { HttpDoorSettings, HttpFormat, HttpRequestIn } from './door';
import { verifySnsMessage, type FetchCertificate, type SnsMessage } from './sns';

/** A message posted: its bytes as sent, its envelope as the request reports it, its one-time token when signed. */
export interface Posted {
	raw: Buffer;
	envelope: Envelope;
	replay: { token: string; expiresAt: Date } | null;
}

export type Reading =
	| { kind: 'message'; posted: Posted }
	/** SNS: a subscription (or unsubscription) to confirm by its URL, or a notification that carries no message. */
	| { kind: 'notice'; message: SnsMessage; note: string };

/** What a reader needs besides the request; its budget share and deadlines (BodyReading) are this request's. */
export interface ReadContext extends BodyReading {
	settings: HttpDoorSettings;
	inbox: InboxConfig;
	now: Date;
	maxSkewSeconds: number;
	fetchCertificate: FetchCertificate;
	/** Told once the request is known to come from the sender set up, with its one-time token (a refusal then is logged). */
	authenticated?: (replay: Posted['replay']) => void;
}

const MAX_RECIPIENTS = 100;
/** Form fields besides the message, and JSON's escaping of it (a CRLF is 4 bytes, a non-ASCII byte up to 6). */
const FORM_OVERHEAD = 1024 * 1024;
/** SNS posts at most 256 KB: a bigger post is no SNS message. */
const SNS_CAP = 1024 * 1024;

/** The most a format's request may carry: the message's limit and what its wrapping adds. */
export function requestCap(format: HttpFormat, inbox: InboxConfig): number {
	switch (format) {
		case 'raw':
			return inbox.maxMessageBytes;
		case 'mailgun':
		case 'sendgrid':
			return inbox.maxMessageBytes + FORM_OVERHEAD;
		case 'postmark':
			return 2 * inbox.maxMessageBytes + FORM_OVERHEAD;
		case 'ses':
			return Math.min(SNS_CAP, 2 * inbox.maxMessageBytes + FORM_OVERHEAD);
	}
}

/** Envelope recipients: addresses only, at least one, a bounded number. */
function recipients(values: string[]): string[] {
	const rcpt = values.map((value) => value.trim().replace(/^<(.*)>$/, '$1').toLowerCase()).filter((value) => value !== '');
	if (rcpt.length === 0) throw new HttpRefusal('bad-request', 'The request names no envelope recipient');
	if (rcpt.length > MAX_RECIPIENTS) throw new HttpRefusal('bad-request', `The request names more than ${MAX_RECIPIENTS} recipients`);
	for (const value of rcpt) {
		if (!isEmailAddress(value)) throw new HttpRefusal('bad-request', `The envelope recipient ${JSON.stringify(String(value).slice(0, 100))} is not an email address`);
	}
	return rcpt;
}

/** The envelope sender: '' for the null sender (<>), an address, or null when what was reported is none. */
function sender(value: string | null | undefined): string | null {
	if (value === null || value === undefined) return null;
	const bare = value.trim().replace(/^<(.*)>$/, '$1').trim();
	if (bare === '') return '';
	return isEmailAddress(bare) ? bare.toLowerCase() : null;
}

function clientIp(value: string | null | undefined, what: string): string | null {
	const ip = value?.trim();
	if (!ip) return null;
	if (!isIP(ip)) throw new HttpRefusal('bad-request', `${what} is not an IP address`);
	return ip;
}

function helo(value: string | null | undefined): string | null {
	const name = value?.trim();
	if (!name) return null;
	// eslint-disable-next-line no-control-regex
	if (name.length > 255 || /[\u0000-\u001f\u007f]/.test(name)) throw new HttpRefusal('bad-request', 'X-Client-Helo is not a host name');
	return name;
}

function checkMessageSize(raw: Buffer, inbox: InboxConfig): Buffer {
	if (raw.length > inbox.maxMessageBytes) throw new HttpRefusal('too-large', `The message is ${raw.length} bytes, over the limit of ${inbox.maxMessageBytes}`);
	if (raw.length === 0) throw new HttpRefusal('bad-request', 'The request carries no message');
	return raw;
}

/** A header-borne token, checked before a byte of the body is read. */
function checkTokenIfSet(headers: Headers, token: string | null): void {
	if (token) checkCredential(headers, token);
}

function mediaType(headers: Headers): string {
	return (header(headers, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/** raw: the body is the message (message/rfc822); the envelope in X-Envelope-*, X-Client-*; a token or an HMAC. */
async function readRaw(request: HttpRequestIn, context: ReadContext, cap: number): Promise<Reading> {
	const { headers } = request;
	const { token, hmacSecret } = context.settings;
	// A presented token is checked as the token; without one, an HMAC secret asks for the signature headers.
	const tokenPresented = Boolean(token) && presentedCredential(headers) !== null;
	const signed = hmacSecret && !tokenPresented ? rawSignatureCheck(headers, hmacSecret, context.now, context.maxSkewSeconds) : null;
	if (!signed) checkCredential(headers, token);
	if (!signed) context.authenticated?.(null);
	if (mediaType(headers) !== 'message/rfc822') throw new HttpRefusal('bad-request', 'A raw post is Content-Type: message/rfc822');
	const envelope: Envelope = {
		clientIp: clientIp(header(headers, 'x-client-ip'), 'X-Client-IP'),
		helo: helo(header(headers, 'x-client-helo')),
		mailFrom: sender(header(headers, 'x-envelope-from')),
		rcpt: recipients((header(headers, 'x-envelope-to') ?? '').split(',')),
	};
	const body = await readCapped(request, cap, context, signed?.update);
	const replay = signed ? signed.verify() : null;
	if (signed) context.authenticated?.(replay);
	return { kind: 'message', posted: { raw: checkMessageSize(body, context.inbox), envelope, replay } };
}

const text = (fields: Map<string, Buffer>, name: string): string => fields.get(name)?.toString('utf8') ?? '';

/** mailgun: a route's forward() to a URL ending in "mime": body-mime, sender, recipient, signed with timestamp + token. */
async function readMailgun(request: HttpRequestIn, context: ReadContext, cap: number): Promise<Reading> {
	checkTokenIfSet(request.headers, context.settings.token);
	const fields = await readForm(request, cap, context);
	const replay = checkMailgunSignature({ timestamp: text(fields, 'timestamp'), token: text(fields, 'token'), signature: text(fields, 'signature') }, context.settings.mailgunSigningKey ?? '', context.now, context.maxSkewSeconds);
	context.authenticated?.(replay);
	const raw = fields.get('body-mime');
	if (!raw) throw new HttpRefusal('bad-request', 'No body-mime field: forward the route to a URL ending in "mime"');
	const envelope = { clientIp: null, helo: null, mailFrom: sender(text(fields, 'sender')), rcpt: recipients(text(fields, 'recipient').split(',')) };
	return { kind: 'message', posted: { raw: checkMessageSize(raw, context.inbox), envelope, replay } };
}

const sendgridEnvelope = z.object({ to: z.array(z.string()).max(MAX_RECIPIENTS), from: z.string().nullish() });

/** sendgrid: Inbound Parse with "POST the raw, full MIME message": email, envelope (JSON), sender_ip. */
async function readSendgrid(request: HttpRequestIn, context: ReadContext, cap: number): Promise<Reading> {
	checkCredential(request.headers, context.settings.token);
	context.authenticated?.(null);
	const fields = await readForm(request, cap, context);
	const raw = fields.get('email');
	if (!raw) throw new HttpRefusal('bad-request', 'No email field: check "POST the raw, full MIME message" in the Inbound Parse settings');
	const parsed = sendgridEnvelope.safeParse(parseJson(text(fields, 'envelope')));
	if (!parsed.success) throw new HttpRefusal('bad-request', 'The envelope field is not SendGrid\'s {"to": [...], "from": ...}');
	const envelope = { clientIp: clientIp(text(fields, 'sender_ip'), 'sender_ip'), helo: null, mailFrom: sender(parsed.data.from), rcpt: recipients(parsed.data.to) };
	return { kind: 'message', posted: { raw: checkMessageSize(raw, context.inbox), envelope, replay: null } };
}

const postmarkPayload = z.object({
	RawEmail: z.string().optional(),
	OriginalRecipient: z.string().max(320),
	Headers: z.array(z.object({ Name: z.string(), Value: z.string() })).max(1000).optional(),
});

/** postmark: the inbound JSON with RawEmail ("Include raw email content in JSON payload"), OriginalRecipient. */
async function readPostmark(request: HttpRequestIn, context: ReadContext, cap: number): Promise<Reading> {
	checkCredential(request.headers, context.settings.token);
	context.authenticated?.(null);
	const parsed = postmarkPayload.safeParse(await readJson(request, cap, context));
	if (!parsed.success) throw new HttpRefusal('bad-request', `Not Postmark's inbound JSON: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
	const { RawEmail, OriginalRecipient, Headers: fields } = parsed.data;
	if (RawEmail === undefined) throw new HttpRefusal('bad-request', 'No RawEmail: enable "Include raw email content in JSON payload" on the inbound stream');
	// Postmark reports no MAIL FROM; its Return-Path header (written by Postmark's MTA) is the envelope sender.
	const returnPath = fields?.find((field) => field.Name.toLowerCase() === 'return-path')?.Value;
	const envelope = { clientIp: null, helo: null, mailFrom: sender(returnPath), rcpt: recipients([OriginalRecipient]) };
	return { kind: 'message', posted: { raw: checkMessageSize(Buffer.from(RawEmail, 'utf8'), context.inbox), envelope, replay: null } };
}

const sesNotification = z.object({
	notificationType: z.string(),
	mail: z.object({ source: z.string().max(320) }).optional(),
	receipt: z.object({ recipients: z.array(z.string()).max(MAX_RECIPIENTS), action: z.object({ encoding: z.enum(['UTF8', 'BASE64']).optional() }).passthrough() }).optional(),
	content: z.string().optional(),
});

/** ses: an SNS notification whose Message is SES's receipt notification with the message in `content`. */
async function readSes(request: HttpRequestIn, context: ReadContext, cap: number): Promise<Reading> {
	checkTokenIfSet(request.headers, context.settings.token);
	const { message, replay } = await verifySnsMessage(await readJson(request, cap, context), {
		topicArns: context.settings.snsTopicArns ?? [],
		now: context.now,
		maxSkewSeconds: context.maxSkewSeconds,
		fetchCertificate: context.fetchCertificate,
	});
	context.authenticated?.(replay);
	if (message.Type !== 'Notification') {
		const note = message.Type === 'SubscriptionConfirmation' ? 'confirm it by opening its SubscribeURL' : 'the subscription was removed; its SubscribeURL subscribes again';
		return { kind: 'notice', message, note: `Amazon SNS ${message.Type}: ${note}` };
	}
	const parsed = sesNotification.safeParse(parseJson(message.Message));
	if (!parsed.success) throw new HttpRefusal('bad-request', 'The SNS message is not an Amazon SES notification');
	const { notificationType, mail, receipt, content } = parsed.data;
	if (notificationType !== 'Received') return { kind: 'notice', message, note: `Amazon SES ${notificationType.slice(0, 100)}: no message in it` };
	if (content === undefined || !receipt || !mail) throw new HttpRefusal('bad-request', 'The SES notification carries no message: deliver with the receipt rule\'s SNS action');
	const raw = receipt.action.encoding === 'BASE64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
	const envelope = { clientIp: null, helo: null, mailFrom: sender(mail.source), rcpt: recipients(receipt.recipients) };
	return { kind: 'message', posted: { raw: checkMessageSize(raw, context.inbox), envelope, replay } };
}

const READERS: Record<HttpFormat, (request: HttpRequestIn, context: ReadContext, cap: number) => Promise<Reading>> = {
	raw: readRaw,
	mailgun: readMailgun,
	sendgrid: readSendgrid,
	postmark: readPostmark,
	ses: readSes,
};

/** The request read as its format says; HttpRefusal when it cannot be (unauthorized, too large, bad). */
export async function readRequest(request: HttpRequestIn, context: ReadContext): Promise<Reading> {
	return await READERS[context.settings.format](request, context, requestCap(context.settings.format, context.inbox));
}
