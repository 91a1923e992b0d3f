import type { ParsedMail } from 'mailparser';

import { systemResolver, type DnsResolver } from '../dns';
import type { Flag } from '../flags';
import type { InboxConfig, IntakeDoor } from '../inbox';
import { MessageReadError } from '../errors';
import { parseItem, spooledDecisionSchema } from '../item';
import { asBytes, bytesFrom, readFrom, readHead, watchedBytes, type MessageBytes } from '../message-bytes';
import { SMTP_REPLIES } from '../replies';
import { CHECK_ROOM } from './check-room';
import { messageContent } from './content';
import { addressesOf, authorOf, foldControlCharacters, headerSectionLength } from './headers';
import { decision, note, type IntakeStage, type IntakeState } from './state';
import { authenticateStage } from './stages/authenticate';
import { classifyStage } from './stages/classify';
import { originalSenderStage } from './stages/original-sender';
import { parseMessage, parseStage, type AttachmentReader } from './stages/parse';
import { MAX_HEADER_BYTES, sizeStage } from './stages/size';
import { threadKeysStage } from './stages/thread-keys';
import type { AddressValue, Envelope, IntakeDecision, IntakeResult, MessageContent, MessageFacts, Verdict } from './types';

export { FORWARDING_TEST_HEADER, forwardingTestToken } from './stages/classify';
export type { IntakeStage, IntakeState } from './state';

export interface IntakeContext {
	inbox: InboxConfig;
	/** The door the message came through (SMTP when absent): the IMAP door believes the mailbox server's Authentication-Results. */
	via?: IntakeDoor;
	envelope?: Partial<Envelope>;
	/** DNS for SPF/DKIM/DMARC/ARC; real DNS (bounded timeouts) when absent. */
	resolver?: DnsResolver;
	/** The time DKIM signatures are checked against (expiry); the clock when absent. */
	now?: Date;
}

/** What the checks decided, and the message's content as plain data (the parser's object stays inside). */
export interface IntakeOutcome {
	result: IntakeResult;
	content: MessageContent | null;
}

/** Thrown only when the input is not an email at all: empty, binary, or without a header section. */
export class NotAnEmailError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'NotAnEmailError';
	}
}

/** The intake, in order, declared in one place: each stage reads the state and adds its part. */
export const INTAKE_STAGES: readonly IntakeStage[] = [
	sizeStage,
	parseStage,
	authenticateStage,
	classifyStage,
	originalSenderStage,
	threadKeysStage,
];

const SEVERITY = { accept: 0, quarantine: 1, defer: 2, reject: 3 } as const;
const ACCEPT = decision('accept', SMTP_REPLIES.accepted(''));

const HEADER_FIELD = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;
/** How far a header section is looked for: junk before it, or a first line longer than this, is not an email. */
const HEAD_BYTES = 64 * 1024;

const BLANK_LINES = 'blank or indented lines';
const MBOX_LINE = 'an mbox "From " line';

/** Where the message starts in the input, and what came before it. */
export interface MessageStart {
	offset: number;
	skipped: string[];
}

/** What of a message is read into memory before the checks: where it starts and its header section, as far as one may go. */
const FIRST_BYTES = HEAD_BYTES + MAX_HEADER_BYTES + 4;

/**
 * Finds the header section in the message's first bytes: a byte-order mark, blank or indented lines (a
 * continuation with nothing to continue) and an mbox "From " line before it are skipped; anything else first is
 * not an email. One linear pass over the first 64 KB.
 */
export function locateMessage(raw: Buffer): MessageStart {
	if (!raw.length || !raw.toString('latin1', 0, Math.min(raw.length, 4096)).trim()) {
		throw new NotAnEmailError('input is empty');
	}
	const head = raw.toString('latin1', 0, Math.min(raw.length, HEAD_BYTES));
	const skipped = new Set<string>();
	let offset = 0;
	if (head.startsWith('\xEF\xBB\xBF')) {
		offset = 3;
		skipped.add('a byte-order mark');
	}
	for (;;) {
		const end = head.indexOf('\n', offset);
		const line = head.slice(offset, end < 0 ? head.length : end);
		if (HEADER_FIELD.test(line)) return { offset, skipped: [...skipped] };
		const blank = !line.trim() || line[0] === ' ' || line[0] === '\t';
		const junk = blank ? BLANK_LINES : line.startsWith('From ') && !skipped.has(MBOX_LINE) ? MBOX_LINE : null;
		if (!junk || end < 0) break;
		skipped.add(junk);
		offset = end + 1;
	}
	// eslint-disable-next-line no-control-regex
	const printable = /^[\x09\x0a\x0d\x20-\x7e]*$/.test(head.slice(0, 512));
	throw new NotAnEmailError(printable ? 'input has no header section (the first line is not "Name: value")' : 'input is binary, not an RFC 5322 message');
}

/**
 * The message from its first header field on, its reads watched (a failure of ours is told from bad input), with
 * its first bytes in memory: what the checks, a re-read and the attachments' read all start from.
 */
async function openMessage(bytes: MessageBytes): Promise<{ start: MessageStart; head: Buffer; read: ReturnType<typeof watchedBytes> }> {
	const first = await readHead(bytes, FIRST_BYTES);
	const start = locateMessage(first);
	return { start, head: first.subarray(start.offset), read: watchedBytes(bytesFrom(bytes, start.offset)) };
}

/** The emitted author is the item's own: a workflow may edit it, the memoised answer stays as read. */
const copyOf = (author: AddressValue | null): AddressValue | null => (author ? { ...author } : null);

function messageFacts(parsed: ParsedMail | null): MessageFacts | null {
	if (!parsed) return null;
	return {
		subject: parsed.subject ?? '',
		from: copyOf(authorOf(parsed).author),
		to: addressesOf(parsed.to),
		cc: addressesOf(parsed.cc),
		replyTo: addressesOf(parsed.replyTo),
		date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.toISOString() : null,
		text: parsed.text ?? '',
		html: typeof parsed.html === 'string' ? parsed.html : null,
		attachments: parsed.attachments.map((a) => ({
			filename: a.filename ?? null,
			contentType: a.contentType,
			size: a.size,
			contentId: a.contentId ?? null,
			inline: a.contentDisposition === 'inline' || a.related === true,
		})),
	};
}

function verdictOf(state: IntakeState): Verdict {
	const winner = state.decisions.reduce((a, b) => (SEVERITY[b.action] > SEVERITY[a.action] ? b : a), ACCEPT);
	const decisionReasons = state.decisions.map((d) => d.reason);
	// Reasons quote header text; they go to the SMTP reply and the intake log as single lines.
	const reasons = [...new Set([...(winner === ACCEPT ? [] : [winner.reason]), ...decisionReasons, ...state.reasons].map(foldControlCharacters))];
	if (winner === ACCEPT) reasons.unshift(state.flags.size ? 'accepted with flags' : 'accepted: no check failed');
	return { action: winner.action, smtpCode: winner.smtpCode, enhancedCode: winner.enhancedCode, reasons, flags: [...state.flags] };
}

function envelopeOf(ctx: IntakeContext): Envelope {
	const e = ctx.envelope ?? {};
	return { clientIp: e.clientIp ?? null, helo: e.helo ?? null, mailFrom: e.mailFrom ?? null, rcpt: e.rcpt ?? [] };
}

/** A lookup still pending when the deadline passes fails then, as a DNS timeout does: no stage waits past it. */
function resolverUntil(resolver: DnsResolver, deadline: AbortSignal): DnsResolver {
	const timedOut = (name: string, rrtype: string) =>
		Object.assign(new Error(`DNS lookup ${name} ${rrtype} cut off by the intake deadline`), { code: 'ETIMEOUT', hostname: name });
	return async (name, rrtype) => {
		if (deadline.aborted) throw timedOut(name, rrtype);
		let onAbort = () => {};
		const cutOff = new Promise<never>((_resolve, reject) => {
			onAbort = () => reject(timedOut(name, rrtype));
			deadline.addEventListener('abort', onAbort, { once: true });
		});
		try {
			return await Promise.race([resolver(name, rrtype), cutOff]);
		} finally {
			deadline.removeEventListener('abort', onAbort);
		}
	};
}

/** Settles when the deadline passes (never rejects, so a stage that loses the race leaves nothing unhandled). */
function passing(deadline: AbortSignal): Promise<void> {
	return new Promise((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * Runs the stages in order until the deadline. A stage cut off by the deadline keeps running in the background
 * (its DNS lookups fail at once), but its work no longer counts.
 */
async function runStages(state: IntakeState, deadline: AbortSignal): Promise<void> {
	const deadlinePassed = passing(deadline);
	for (const stage of INTAKE_STAGES) {
		if (deadline.aborted) return;
		const run = Promise.resolve().then(() => stage.run(state));
		try {
			await Promise.race([run, deadlinePassed]);
		} catch (error) {
			// A library failing on hostile input must not lose the message: the verdict names the stage instead.
			state.flags.add('stage-error');
			state.reasons.push(`${stage.name} stage failed: ${(error as Error).message}`);
		}
		if (deadline.aborted) {
			run.catch(() => {});
			note(state, 'intake-deadline');
			state.decisions.push(
				decision(
					'defer',
					SMTP_REPLIES.tryAgainLater(
						`the checks took longer than this inbox's intake deadline of ${state.inbox.intakeDeadlineSeconds} s (stopped in the ${stage.name} stage); answered 451 so the sender retries (inbox intakeDeadlineSeconds)`,
					),
				),
			);
		}
	}
}

/**
 * Every string in a plain JSON value (objects, arrays) through `map`. A part in which `map` changed nothing is kept as
 * it is, not copied: almost every message has nothing to change.
 */
function mapStrings<T>(value: T, map: (text: string) => string): T {
	if (typeof value === 'string') return map(value) as T;
	if (!value || typeof value !== 'object') return value;
	let copy: Record<string, unknown> | null = null;
	for (const key of Object.keys(value)) {
		const item = (value as Record<string, unknown>)[key];
		const mapped = mapStrings(item, map);
		if (mapped === item) continue;
		copy ??= (Array.isArray(value) ? [...value] : { ...value }) as Record<string, unknown>;
		copy[key] = mapped;
	}
	return (copy ?? value) as T;
}

/**
 * The decoded values as they are stored and emitted: a NUL in the body (PostgreSQL refuses it in text) becomes
 * U+FFFD; in every other value (subject, names, file names, header-derived fields) each control character becomes a
 * space, so a decoded "a\r\nBcc: x" never becomes a header line of a reply. Only decoded values: the raw bytes (spool,
 * DKIM/ARC) are untouched.
 */
function storedValues(flag: (flag: Flag, reason: string) => void, values: Omit<IntakeResult, 'verdict'>): Omit<IntakeResult, 'verdict'> {
	const fold = (text: string) => {
		const folded = foldControlCharacters(text);
		if (folded !== text) flag('control-characters-folded', 'control characters (line breaks, NUL ...) in decoded header text were turned into spaces');
		return folded;
	};
	const replaceNul = (text: string) => {
		if (!text.includes('\0')) return text;
		flag('nul-replaced', 'NUL bytes in the body text were replaced by U+FFFD');
		return text.replaceAll('\0', '\uFFFD');
	};
	const { message, ...others } = values;
	if (!message) return { ...mapStrings(others, fold), message };
	const { text, html, ...headerFacts } = message;
	return {
		...mapStrings(others, fold),
		message: { ...mapStrings(headerFacts, fold), text: replaceNul(text), html: html === null ? null : replaceNul(html) },
	};
}

/**
 * One message through every stage: the same code path for the SMTP listener, the IMAP poller, the HTTP door and
 * the CLI. Only its first bytes are read into memory; each stage that reads it whole streams it again.
 */
export async function runChecks(input: Buffer | MessageBytes, ctx: IntakeContext): Promise<IntakeOutcome> {
	const bytes = asBytes(input);
	// The stages (parsing, DKIM and ARC included) read the message from its first header field on: a signer signed
	// that, never the junk a mailbox export or a broken client put before it. The caller keeps the bytes as received.
	const { start, head, read } = await openMessage(bytes);
	await CHECK_ROOM.enter(bytes.size);
	const deadline = new AbortController();
	const timer = setTimeout(() => deadline.abort(), ctx.inbox.intakeDeadlineSeconds * 1000);
	const state: IntakeState = {
		message: read.bytes,
		head,
		inbox: ctx.inbox,
		via: ctx.via ?? 'smtp',
		envelope: envelopeOf(ctx),
		resolver: resolverUntil(ctx.resolver ?? systemResolver(), deadline.signal),
		now: ctx.now ?? null,
		headerBytes: headerSectionLength(head),
		bodySkipped: null,
		parsed: null,
		authDetails: null,
		decisions: [],
		reasons: [],
		flags: new Set(),
		kind: 'message',
		verification: null,
		originalSender: null,
		auth: null,
		thread: { messageId: null, inReplyTo: [], references: [], contentHash: null },
	};
	if (start.skipped.length) {
		note(state, 'leading-junk-skipped', `${start.offset} bytes before the header section (${start.skipped.join(', ')}) were skipped: the message was read and authenticated from its first header field on`);
	}
	try {
		await runStages(state, deadline.signal);
	} finally {
		clearTimeout(timer);
		CHECK_ROOM.leave(bytes.size);
	}
	// A stage that could not read the message decided on less than the message: that is our trouble to retry.
	const failure = read.failure();
	if (failure) throw new MessageReadError(failure);
	const values = storedValues((flag, reason) => note(state, flag, reason), {
		kind: state.kind,
		verification: state.verification,
		originalSender: state.originalSender,
		auth: state.auth,
		thread: state.thread,
		size: bytes.size,
		envelope: state.envelope,
		message: messageFacts(state.parsed),
	});
	return { result: { verdict: verdictOf(state), ...values }, content: messageContent(state.parsed) };
}

/** The decision alone, kept with the bytes in the spool. */
export function decisionOf(result: IntakeResult): IntakeDecision {
	const { verdict, kind, verification, originalSender, auth, thread, size, envelope } = result;
	return { verdict, kind, verification, originalSender, auth, thread, size, envelope };
}

/**
 * Each attachment of a message as a stream, in the order the intake listed them (the emission's `attachment_<n>`):
 * for the trigger to store as n8n binary data, one at a time, none held.
 */
export async function readAttachments(bytes: MessageBytes, read: AttachmentReader): Promise<void> {
	await parseMessage(readFrom((await openMessage(bytes)).read.bytes), { read });
}

/**
 * A spooled message emitted again with the decision it was answered with: only its bytes are read again (for the
 * text and the attachments), so no DNS answer of later can re-decide mail that was already answered 250. The decision
 * is checked first: read back from the store, it may have been written by an older version (an ItemShapeError names
 * what does not fit, and the entry fails with it rather than emit an item of another shape).
 */
export async function rereadDecided(bytes: MessageBytes, decision: IntakeDecision): Promise<IntakeOutcome> {
	parseItem(spooledDecisionSchema, 'the decision kept with a spooled message (re-drive it with a re-check to decide it anew)', decision);
	const { head, read } = await openMessage(bytes);
	const parsed = await parseMessage(readFrom(read.bytes)).catch(
		async () => await parseMessage(head.subarray(0, headerSectionLength(head))).catch(() => null),
	);
	// Not its header section alone because the spool could not be read: emitted again later, whole.
	const failure = read.failure();
	if (failure) throw new MessageReadError(failure);
	// Cleaned as when it was decided; what that flagged is in the verdict already.
	const { verdict, ...decided } = decision;
	return { result: { verdict, ...storedValues(() => {}, { ...decided, message: messageFacts(parsed) }) }, content: messageContent(parsed) };
}
