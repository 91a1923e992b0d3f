/**
 * The HTTP answer to each outcome: a status the provider acts on (it retries, stops, or is done) and a JSON body
 * with the SMTP reply an SMTP client would have had, so a relay (hosted-inbox deliver) can pass it on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { DEFAULT_MAX_MESSAGE_BYTES, type InboxConfig } from '../inbox';
import type { DoorDecision } from '../intake/door';
import { replyLine, SMTP_REPLIES, verdictReply, type SmtpReply } from '../replies';
import { dropRest, type HttpRefusal } from './body';

export type HttpFormat = 'raw' | 'mailgun' | 'sendgrid' | 'postmark' | 'ses';
export type AnswerStatus = 'accepted' | 'held' | 'refused' | 'try-again' | 'unauthorized' | 'too-large' | 'bad-request';

export interface HttpAnswer {
	status: number;
	headers: Record<string, string>;
	/** JSON: { status, reply, id?, reasons? } */
	body: string;
	/** Given before the end of the request's body: at most this much of the rest is read and dropped before the connection closes (sendAnswer). */
	readRest?: number;
}

/**
 * Sends the answer on Node's HTTP server. One given before the end of the request's body (a 413) is sent whole at
 * once, then the rest of the body is read and dropped before the connection closes, so the client hears it; unless
 * the body declares more than that bound could ever reach the end of (then closed at once, as a stranger may declare
 * any length).
 */
export async function sendAnswer(response: ServerResponse, answer: HttpAnswer, request?: IncomingMessage): Promise<void> {
	response.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
	const declared = Number(request?.headers['content-length'] ?? 0);
	if (!answer.readRest || !request || declared > 2 * answer.readRest) return void response.end(answer.body);
	response.write(answer.body);
	await dropRest(request, answer.readRest);
	response.end();
}

/**
 * A final refusal, per format, as its sender stops retrying: raw's relay bounces on 422; Mailgun stops on 406,
 * Postmark on 403; SendGrid retries anything but a 2xx, so it is told 200 (the refusal is in the intake log), and SNS
 * too (it takes a 4xx as delivered, but says nothing of it).
 */
export const FINAL_REFUSAL_STATUS: Record<HttpFormat, number> = { raw: 422, mailgun: 406, postmark: 403, sendgrid: 200, ses: 200 };

/** How long a provider is asked to wait before it tries again. */
export const RETRY_AFTER_SECONDS = 60;

const STATUS_OF_REFUSAL: Record<HttpRefusal['kind'], { status: number; answer: AnswerStatus }> = {
	unauthorized: { status: 401, answer: 'unauthorized' },
	'too-large': { status: 413, answer: 'too-large' },
	'bad-request': { status: 400, answer: 'bad-request' },
};

function answer(status: number, body: { status: AnswerStatus; reply: SmtpReply; id?: string; reasons?: string[] }, headers: Record<string, string> = {}): HttpAnswer {
	const { reply, ...rest } = body;
	return {
		status,
		headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
		body: JSON.stringify({ status: rest.status, reply: `${reply.code} ${replyLine(reply)}`, ...(rest.id ? { id: rest.id } : {}), ...(rest.reasons ? { reasons: rest.reasons } : {}) }),
	};
}

/** Try again later (a deferral, local trouble): 503 with Retry-After, so the provider keeps the message and retries. */
export function tryAgainAnswer(reply: SmtpReply = SMTP_REPLIES.temporaryFailure, reasons?: string[], headers: Record<string, string> = {}): HttpAnswer {
	return answer(503, { status: 'try-again', reply, ...(reasons ? { reasons } : {}) }, { 'retry-after': String(RETRY_AFTER_SECONDS), ...headers });
}

/** The SMTP reply a refused request is answered with. */
export function refusalReply(refusal: HttpRefusal, inbox: InboxConfig): SmtpReply {
	if (refusal.kind === 'unauthorized') return SMTP_REPLIES.authenticationInvalid;
	return refusal.kind === 'too-large' ? SMTP_REPLIES.tooLargeFor(inbox.address, inbox.maxMessageBytes) : SMTP_REPLIES.requestRefused(refusal.message);
}

/** A request refused before any message went through: nothing kept. */
export function refusalAnswer(refusal: HttpRefusal, inbox: InboxConfig): HttpAnswer {
	const { status, answer: kind } = STATUS_OF_REFUSAL[refusal.kind];
	const reply = refusalReply(refusal, inbox);
	// Basic credentials in a URL are sent by many clients only when challenged.
	const headers: Record<string, string> = refusal.kind === 'unauthorized' ? { 'www-authenticate': 'Basic realm="hosted-inbox", Bearer' } : {};
	// A body over the limit is read on and dropped (sendAnswer), and the connection not kept for another request; the
	// answer goes out as it is, never held back by a compressing layer (n8n's) until the body's end.
	if (refusal.kind === 'too-large') Object.assign(headers, { connection: 'close', 'cache-control': 'no-transform' });
	const refused = answer(status, { status: kind, reply, reasons: [refusal.message] }, headers);
	// At most one maximum-size message more (30 MB at least): no more than a post within the limit makes the door read.
	return refusal.kind === 'too-large' ? { ...refused, readRest: Math.max(inbox.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES) } : refused;
}

/** A notice with no message in it (an SNS subscription, an SES setup notification): taken, nothing to run. */
export function noticeAnswer(note: string): HttpAnswer {
	return answer(200, { status: 'accepted', reply: SMTP_REPLIES.accepted(note) });
}

/** The door's decision: 2xx only for a message in the spool; a refusal as the format's final refusal; a deferral 503. */
export function decisionAnswer(format: HttpFormat, decision: DoorDecision): HttpAnswer {
	const refused = (reply: SmtpReply, reasons: string[]) => answer(FINAL_REFUSAL_STATUS[format], { status: 'refused', reply, reasons });
	if (decision.outcome === 'not-an-email') return refused(SMTP_REPLIES.notAnEmail(decision.problem), [decision.problem]);
	const { verdict } = decision.message.result;
	const { spooled } = decision;
	if (verdict.action === 'reject') return refused(verdictReply(verdict), verdict.reasons);
	if (verdict.action === 'defer') return tryAgainAnswer(verdictReply(verdict), verdict.reasons);
	if (!spooled) throw new Error(`The HTTP intake door answered a ${verdict.action} without spooling the message`);
	if (verdict.action === 'quarantine') return answer(200, { status: 'held', reply: SMTP_REPLIES.heldForReview(spooled.id), id: spooled.id, reasons: verdict.reasons });
	return answer(200, { status: 'accepted', reply: SMTP_REPLIES.queued(spooled.id), id: spooled.id });
}
