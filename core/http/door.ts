/**
 * The HTTP door: a post from an MTA's pipe (raw) or an inbound provider (Mailgun, SendGrid, Postmark, SES over
 * SNS), authenticated, read within its caps, through the same intake door as SMTP. The 2xx is answered only once
 * the message is in the spool; a deferral or local trouble is a 503 the provider retries; the cause of trouble goes
 * to onTrouble, never to the client.
 */
import { isIPv6, SocketAddress } from 'node:net';

import type { DnsResolver } from '../dns';
import { InvalidInputError } from '../errors';
import type { InboxConfig } from '../inbox';
import { createIntakeDoor, type DoorStore } from '../intake/door';
import { intakeLogEntry, refusalVerdict } from '../intake/intake-log';
import type { DecidedMessage, Envelope } from '../intake/types';
import { SMTP_REPLIES } from '../replies';
import { DEFAULT_BUDGET_MESSAGES, InFlightBudget } from '../smtp/budget';
import type { ReplayStore } from '../store/roles';
import type { SpoolEntry } from '../store/types';
import { outputFor } from '../workflow-delivery/emission';
import { decisionAnswer, noticeAnswer, refusalAnswer, refusalReply, tryAgainAnswer, type HttpAnswer, type HttpFormat } from './answers';
import { BodyTooSlowError, BudgetSpentError, ClientGone, HttpRefusal, type BodyReading } from './body';
import { readRequest, requestCap, type Posted } from './formats';
import { receivedHop } from './received-hop';
import { fetchAwsCertificate, type SnsMessage } from './sns';

export type { HttpAnswer, HttpFormat } from './answers';

export interface HttpDoorSettings {
	format: HttpFormat;
	/** Bearer token, or Basic password (providers that only take credentials in the URL: SendGrid, Postmark, SNS). */
	token: string | null;
	/** raw: HMAC-SHA256 secret, alternative to the token (X-Hosted-Inbox-Timestamp + X-Hosted-Inbox-Signature). */
	hmacSecret?: string | null;
	mailgunSigningKey?: string | null;
	/** ses: the SNS topic ARNs allowed to post (anyone can sign SNS messages for their own topic). */
	snsTopicArns?: string[];
	/** Freshness window of signed requests (Mailgun, HMAC), default 300 s. */
	maxSkewSeconds?: number;
}

export interface HttpRequestIn {
	method: string;
	headers: Record<string, string | string[] | undefined>;
	body: NodeJS.ReadableStream;
}

export type HttpDoorResult =
	/** 2xx: the message is in the spool; emit the run. */
	| { answer: HttpAnswer; spooled: { entry: SpoolEntry; message: DecidedMessage } }
	/** Refused, deferred or held: in the intake log (held mail in the spool too); set aside. */
	| { answer: HttpAnswer; refused: DecidedMessage }
	/** 401, 413, 400, 503 for trouble, an SNS notice: no message went through. A 2xx: spooled, left to the leader's sweep. */
	| { answer: HttpAnswer };

export interface HttpDoorOptions {
	store: DoorStore & ReplayStore;
	inbox: InboxConfig;
	inboxId: string;
	resolver?: DnsResolver;
	settings: HttpDoorSettings;
	/** SNS signing certificates, fetched only from https://sns.<region>.amazonaws.com/...pem (tests inject their own). */
	fetchCertificate?: (url: string) => Promise<string>;
	/** When the leader's sweep may re-drive an entry this door spooled (its webhook run should record it first). */
	redriveAfterMs?: number;
	/**
	 * Whether its webhook run carries forwarding confirmations and tests (a test run, which no sweep watches). Else
	 * they are due at once and left to the leader's spool delivery: no step records them, so only the trigger that
	 * saw their execution succeed can mark them done, as over SMTP.
	 */
	runCarriesForwarding?: boolean;
	/** The bytes of posts held in memory at once; by default one budget for every door of the process. */
	budget?: InFlightBudget;
	/** How long a body may take (BODY_DEADLINES by default). */
	bodyDeadlines?: BodyReading['deadlines'];
	now?: () => Date;
	onTrouble?(error: Error): void;
}

export const DEFAULT_MAX_SKEW_SECONDS = 300;
export const DEFAULT_REDRIVE_AFTER_MS = 10 * 60_000;
export const REPLAYED = 'This signed request was already taken or is being taken (a retry or a replay): nothing kept';

/** An in-flight budget of HTTP doors, of `bytes`; a door notes it spent to its own onTrouble. */
export const httpBudget = (bytes: () => number) => new InFlightBudget(bytes, () => undefined, { whose: "The HTTP doors'", told: 'answered 503' });

/** The largest request cap of the doors made in this process: the shared budget holds ten such posts. */
let largestCap = 0;
const processBudget = httpBudget(() => DEFAULT_BUDGET_MESSAGES * largestCap);

/** What each format needs to tell its sender from anybody: a missing secret is a setting to fix, said at once. */
function checkSettings(settings: HttpDoorSettings): void {
	const need = (ok: unknown, what: string) => {
		if (!ok) throw new InvalidInputError(`The HTTP door (${settings.format}) needs ${what}`);
	};
	const skew = settings.maxSkewSeconds;
	need(skew === undefined || (Number.isFinite(skew) && skew > 0), 'a freshness window (Max Skew) of a positive number of seconds');
	switch (settings.format) {
		case 'raw':
			return need(settings.token || settings.hmacSecret, 'a token or an HMAC secret');
		case 'mailgun':
			return need(settings.mailgunSigningKey, 'the Mailgun HTTP webhook signing key');
		case 'sendgrid':
		case 'postmark':
			return need(settings.token, 'a token (the Basic password in the URL the provider posts to)');
		case 'ses':
			return need(settings.snsTopicArns?.length, 'the ARNs of the SNS topics allowed to post');
		default:
			throw new InvalidInputError(`Unknown HTTP format ${JSON.stringify(settings.format)}`);
	}
}

/** One address however it is written ("2001:DB8:0::1" is "2001:db8::1"). */
const canonicalIp = (ip: string) => new SocketAddress({ address: ip, family: isIPv6(ip) ? 'ipv6' : 'ipv4' }).address;

/**
 * What the post does not report is read from the provider's hop: the client IP and HELO when it reports no client
 * IP; the HELO alone when it reports the client IP (SendGrid's sender_ip) and the hop is that client's.
 */
function withProviderHop(envelope: Envelope, raw: Buffer): Envelope {
	if (envelope.clientIp !== null && envelope.helo !== null) return envelope;
	const hop = receivedHop(raw);
	if (envelope.clientIp === null) return { ...envelope, clientIp: hop.clientIp, helo: envelope.helo ?? hop.helo };
	return hop.clientIp !== null && canonicalIp(hop.clientIp) === canonicalIp(envelope.clientIp) ? { ...envelope, helo: hop.helo } : envelope;
}

export function createHttpDoor(options: HttpDoorOptions): (request: HttpRequestIn) => Promise<HttpDoorResult> {
	const { store, inbox, inboxId, settings } = options;
	checkSettings(settings);
	const intake = createIntakeDoor({ door: 'http', store, inbox, inboxId, resolver: options.resolver });
	const now = options.now ?? (() => new Date());
	const redriveAfterMs = options.redriveAfterMs ?? DEFAULT_REDRIVE_AFTER_MS;
	largestCap = Math.max(largestCap, requestCap(settings.format, inbox));
	const budget = options.budget ?? processBudget;
	const context = { settings, inbox, maxSkewSeconds: settings.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS, fetchCertificate: options.fetchCertificate ?? fetchAwsCertificate };
	const trouble = (error: unknown) => options.onTrouble?.(error instanceof Error ? error : new Error(String(error)));

	const unread = { envelope: { clientIp: null, helo: null, mailFrom: null, rcpt: [] }, messageId: null, from: null, subject: null };

	/** An SNS subscription is logged with the URL that confirms it; the admin opens it (we never do). */
	const logNotice = async (message: SnsMessage, note: string) => {
		if (message.SubscribeURL === undefined) return;
		const logged = { ...unread, messageId: message.MessageId, subject: note };
		await store.logIntake(
			intakeLogEntry(inboxId, 'forwarding-confirmation', logged, { verification: { provider: 'Amazon SNS', code: null, confirmUrl: message.SubscribeURL, requestedBy: message.TopicArn } }),
		);
	};

	/**
	 * A provider's post that cannot be taken is logged once it is known to be the provider's: SNS never posts a 4xx
	 * again, the others give up in hours, none tells the sender. (A relay on raw is told and bounces or retries.)
	 */
	const logRefusal = async (refusal: HttpRefusal, replay: Posted['replay'], at: Date) => {
		if (settings.format === 'raw' || refusal.kind === 'unauthorized' || refusal instanceof ClientGone) return;
		// Once per signed request: a signature held for its freshness window cannot fill the log.
		if (replay && !(await store.claimReplayToken(inboxId, replay.token, replay.expiresAt.toISOString(), at.toISOString()))) return;
		const verdict = refusalVerdict(refusalReply(refusal, inbox), refusal.message, refusal.kind === 'too-large' ? 'too-large' : 'not-an-email');
		await store.logIntake(intakeLogEntry(inboxId, 'rejected', unread, { verdict }));
	};

	/** The posted message through the intake door; its replay token released when the answer is "try again". */
	const pass = async (posted: Posted, at: Date): Promise<HttpDoorResult> => {
		const envelope = withProviderHop(posted.envelope, posted.raw);
		const runCarries = (message: DecidedMessage) => options.runCarriesForwarding === true || outputFor(message.result) !== 'forwarding';
		const dueAt = (message: DecidedMessage) => new Date(at.getTime() + (runCarries(message) ? redriveAfterMs : 0)).toISOString();
		const decision = await intake({ raw: posted.raw, envelope, receivedAt: at, dueAt });
		const answer = decisionAnswer(settings.format, decision);
		if (decision.outcome === 'not-an-email') return { answer };
		const { message, spooled } = decision;
		if (spooled && message.result.verdict.action === 'accept') return runCarries(message) ? { answer, spooled: { entry: spooled, message } } : { answer };
		return { answer, refused: message };
	};

	return async (request) => {
		const at = now();
		let claimed: string | null = null;
		let authenticated = null as { replay: Posted['replay'] } | null;
		// Every byte read is held until the answer: posts held open (unsigned ones too) cannot fill the memory.
		const share = budget.share();
		try {
			if (request.method.toUpperCase() !== 'POST') throw new HttpRefusal('bad-request', `The door takes POST, not ${request.method.slice(0, 20)}`);
			const reading = await readRequest(request, { ...context, now: at, share, deadlines: options.bodyDeadlines, authenticated: (replay) => (authenticated = { replay }) });
			if (reading.kind === 'notice') {
				await logNotice(reading.message, reading.note);
				return { answer: noticeAnswer(reading.note) };
			}
			const { replay } = reading.posted;
			if (replay) {
				// Taken, or still being decided: a provider's retry while the first post is checked (SNS gives up waiting
				// after 15 s) must not get a 4xx it never retries, in case that first post ends in a 503.
				if (!(await store.claimReplayToken(inboxId, replay.token, replay.expiresAt.toISOString(), at.toISOString()))) {
					return { answer: tryAgainAnswer(SMTP_REPLIES.temporaryFailure, [REPLAYED]) };
				}
				claimed = replay.token;
			}
			const result = await pass(reading.posted, at);
			if (result.answer.status === 503 && claimed) await store.releaseReplayToken(inboxId, claimed);
			return result;
		} catch (error) {
			if (error instanceof HttpRefusal) {
				if (authenticated) await logRefusal(error, authenticated.replay, at).catch(trouble);
				return { answer: refusalAnswer(error, inbox) };
			}
			if (error instanceof BudgetSpentError) {
				budget.deferred((note) => trouble(new Error(note)));
				// The rest of the body is left unread: the connection is not kept for another request.
				return { answer: tryAgainAnswer(SMTP_REPLIES.insufficientStorage, [error.message], { connection: 'close' }) };
			}
			// A try-again, not a 408: SNS takes any 4xx as delivered and never posts it again.
			if (error instanceof BodyTooSlowError) return { answer: tryAgainAnswer(SMTP_REPLIES.dataTooSlow, [error.message], { connection: 'close' }) };
			trouble(error);
			// The provider's retry of this same signed request must pass.
			if (claimed) await store.releaseReplayToken(inboxId, claimed).catch(trouble);
			return { answer: tryAgainAnswer() };
		} finally {
			share.release();
		}
	};
}
