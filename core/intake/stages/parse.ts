import type { SplitterChunk } from '@zone-eu/mailsplit/lib/types';
import { MailParser, type Attachment, type AttachmentStream, type ParsedMail } from 'mailparser';
import { Readable } from 'node:stream';

import { authorOf } from '../headers';
import { MAX_MIME_DEPTH, readMimeStructure, watchMimeStructure } from '../mime-structure';
import { boundedHtmlText } from '../../html-text';
import { readFrom } from '../../message-bytes';
import type { Flag } from '../../flags';
import { SMTP_REPLIES } from '../../replies';
import { decision, note, type IntakeStage, type IntakeState } from '../state';
import { MAX_HEADER_BYTES } from './size';

/**
 * Options shared by every mailparser call: cid links stay cid (attachments travel as binary data); no HTML made
 * from the text (nothing reads it, and linkifying attacker text costs a multiple of parsing it); no text made of the
 * HTML by mailparser (its conversion wraps at 80 characters, and wrapping a long run of inline pieces is quadratic:
 * 1 MB of `x<?>` took 92 s), htmlTextOf makes it instead; no checksum of attachments nobody reads.
 */
const PARSER_OPTIONS = { keepCidLinks: true, ignoreEmbedded: true, skipTextToHtml: true, skipHtmlToText: true, maxHeadSize: MAX_HEADER_BYTES, checksumAlgo: false } as const;

/** A parse stopped on purpose (onSplit said why): the message is read no further, not broken. */
class ParseStopped extends Error {}

const htmlTexts = new WeakMap<ParsedMail, string | null>();
const conversionErrors = new WeakMap<ParsedMail, Error>();

/**
 * The text of a message's HTML (null: it has none, or it could not be converted), made once: as a person reads it and
 * as the forward readers need it: lines unwrapped (html-to-text's wrapping is quadratic on a long run without
 * spaces), a table row a line (Thunderbird's forward header is a table, a row per header).
 */
export function htmlTextOf(parsed: ParsedMail): string | null {
	if (typeof parsed.html !== 'string') return null;
	if (!htmlTexts.has(parsed)) {
		try {
			htmlTexts.set(
				parsed,
				boundedHtmlText(parsed.html, {
					selectors: [{ selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } }],
				}),
			);
		} catch (error) {
			htmlTexts.set(parsed, null);
			conversionErrors.set(parsed, error as Error);
		}
	}
	return htmlTexts.get(parsed) ?? null;
}

/**
 * What of its attachments a message keeps in memory, in all: the start of forwarded messages (their header
 * section and text, where an author and subject are) and of delivery reports (a bounce's status and returned
 * headers), nothing of any other attachment.
 */
export const KEPT_ATTACHMENT_BYTES = 1024 * 1024;
const KEPT_PARTS = /^(message\/.+|text\/rfc822-headers)$/i;

/** An attachment as it passes through the parser: read it (or not) before the promise settles. */
export type PassingAttachment = Omit<AttachmentStream, 'release'>;

/** Hands each attachment on as it passes; the parser goes on once the promise settles, the rest of the stream drained. */
export type AttachmentReader = (attachment: PassingAttachment, index: number) => Promise<void>;

/**
 * mailparser over bytes or a stream, giving what simpleParser gives, except that no attachment is held: each is
 * handed to `read` as it passes (the emission stores it as n8n binary data), its bytes then dropped. An
 * attachment's `content` keeps only the start of a forwarded message or a delivery report (KEPT_ATTACHMENT_BYTES
 * for all of them), empty for any other; `size` is always its whole decoded size. Memory is the text and the
 * headers, however large the attachments.
 */
export async function parseMessage(
	input: Buffer | Readable,
	options: { read?: AttachmentReader; maxHeadSize?: number; onSplit?: (chunk: SplitterChunk) => string | undefined } = {},
): Promise<ParsedMail> {
	const { read, maxHeadSize = MAX_HEADER_BYTES, onSplit } = options;
	const parser = new MailParser({ ...PARSER_OPTIONS, maxHeadSize });
	const mail = { attachments: [] as Attachment[] } as unknown as ParsedMail & Record<string, unknown>;
	const keep = { left: KEPT_ATTACHMENT_BYTES };
	return await new Promise<ParsedMail>((resolve, reject) => {
		let settled = false;
		const fail = (error: Error) => {
			if (settled) return;
			settled = true;
			parser.destroy();
			if (!Buffer.isBuffer(input)) input.destroy();
			reject(error);
		};
		// onSplit sees each part as mailparser takes it, and may stop the parse (it names why).
		if (onSplit) {
			splitterOf(parser).on('data', (chunk: SplitterChunk) => {
				const stop = onSplit(chunk);
				if (stop) fail(new ParseStopped(stop));
			});
		}
		parser.on('error', fail);
		parser.on('headers', (headers) => {
			mail.headers = headers;
			mail.headerLines = parser.headerLines as ParsedMail['headerLines'];
		});
		let reading = false;
		const next = (): void => {
			reading = true;
			const data = parser.read() as { type: 'text'; [key: string]: unknown } | AttachmentStream | null;
			if (data === null) {
				reading = false;
				return;
			}
			if (data.type === 'text') {
				for (const key of ['text', 'html', 'textAsHtml', 'textConversionError']) if (key in data) mail[key] = data[key as keyof typeof data];
				next();
				return;
			}
			passAttachment(data, mail.attachments.length, read, keep).then((attachment) => {
				mail.attachments.push(attachment);
				next();
			}, fail);
		};
		parser.on('readable', () => reading || next());
		parser.on('end', () => {
			// A message with text/plain parts keeps their text (mailparser adds none of its HTML parts'); one with only HTML
			// gets the text of its HTML.
			if ((parser as unknown as { hasText?: boolean }).hasText !== true && typeof mail.html === 'string') {
				const converted = htmlTextOf(mail);
				mail.text = converted ?? '';
				if (converted === null) mail.textConversionError = conversionErrors.get(mail);
			}
			for (const key of ['subject', 'references', 'date', 'to', 'from', 'cc', 'bcc', 'message-id', 'in-reply-to', 'reply-to']) {
				if (mail.headers?.has(key)) mail[key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = mail.headers.get(key);
			}
			if (settled) return;
			settled = true;
			resolve(mail);
		});
		if (Buffer.isBuffer(input)) parser.end(input);
		else input.once('error', fail).pipe(parser);
	});
}

/**
 * The splitter mailparser reads the message's parts from (mailsplit's, not in its typings). mailparser takes each part
 * with read() from a 'readable' listener, so a 'data' listener sees every part as mailparser takes it, without taking
 * any itself.
 */
function splitterOf(parser: MailParser): Readable {
	const { splitter } = parser as unknown as { splitter?: unknown };
	if (!(splitter instanceof Readable)) throw new Error('mailparser no longer exposes its splitter: the MIME structure cannot be watched');
	return splitter;
}

// Checked once at load: a mailparser without its splitter must fail loudly here, not turn every message into a
// header-only parse through the fallback for unparseable mail.
splitterOf(new MailParser(PARSER_OPTIONS));

/** One attachment through `read` (when given), then drained to its end, the start of a forwarded message or report kept. */
async function passAttachment(attachment: AttachmentStream, index: number, read: AttachmentReader | undefined, keep: { left: number }): Promise<Attachment> {
	const { release, content, ...described } = attachment;
	const kept: Buffer[] = [];
	let keptBytes = 0;
	const keeps = KEPT_PARTS.test(attachment.contentType) ? keep.left : 0;
	const ended = new Promise<void>((resolve, reject) => {
		content.once('end', resolve);
		content.once('error', reject);
	});
	if (read) await read({ ...described, content }, index);
	if (!content.readableEnded) {
		content.on('data', (chunk: Buffer) => {
			if (keptBytes >= keeps) return;
			kept.push(chunk.subarray(0, keeps - keptBytes));
			keptBytes += Math.min(chunk.length, keeps - keptBytes);
		});
		content.resume();
	}
	await ended;
	keep.left -= keptBytes;
	release?.();
	return { ...described, content: Buffer.concat(kept, keptBytes), size: attachment.size ?? 0, release: null, checksum: '' } as Attachment;
}

/** Parses only the header section: enough for sender, subject and thread keys when the body cannot be read. */
export async function parseHeaderSection(raw: Buffer, headerBytes: number): Promise<ParsedMail> {
	return await parseMessage(raw.subarray(0, headerBytes), { maxHeadSize: Math.max(MAX_HEADER_BYTES, headerBytes * 2) });
}

/**
 * A message whose author cannot be told is quarantined or refused per the inbox: DMARC cannot check it,
 * and filing it under the envelope sender would let anyone pick the contact.
 */
function holdWithoutAuthor(state: IntakeState, flag: Flag, problem: string): void {
	const setting = state.inbox.onMalformedFrom;
	const reason = `${problem}: a message must name exactly one author for DMARC to check it and to be filed under a contact (never under the envelope sender); ${setting === 'reject' ? 'refused' : 'quarantined'} (inbox onMalformedFrom: ${setting})`;
	note(state, flag);
	state.decisions.push(setting === 'reject' ? decision('reject', SMTP_REPLIES.refusedByPolicy(reason)) : decision('quarantine', SMTP_REPLIES.accepted(reason)));
}

function checkAuthor(state: IntakeState, parsed: ParsedMail): void {
	const { problem } = authorOf(parsed);
	if (problem) holdWithoutAuthor(state, 'from-not-one-mailbox', problem);
}

async function parseWhole(state: IntakeState): Promise<void> {
	const watch = watchMimeStructure();
	// Past MAX_MIME_DEPTH the parse stops: mailsplit checks each line against every enclosing boundary, so a tree near
	// its 1,000-part limit costs seconds a megabyte (30 MB: 30-45 s).
	const onSplit = (chunk: SplitterChunk) => {
		watch.observe(chunk);
		return watch.structure.maxDepth > MAX_MIME_DEPTH ? `the MIME tree goes deeper than ${MAX_MIME_DEPTH} levels` : undefined;
	};
	const whole = await parseMessage(readFrom(state.message), { onSplit }).catch((error: Error) => error);
	const structure = whole instanceof Error && !(whole instanceof ParseStopped) ? await readMimeStructure(readFrom(state.message), MAX_HEADER_BYTES) : watch.structure;
	if (structure.maxDepth > MAX_MIME_DEPTH) {
		note(state, 'mime-too-deep', `MIME tree is more than ${MAX_MIME_DEPTH} levels deep: not a structure a mail client writes; parts below are not read`);
	}
	for (const problem of structure.encodingProblems) note(state, 'bad-transfer-encoding', problem);
	let parsed: ParsedMail;
	if (whole instanceof Error) {
		try {
			// Within the parser's usual limits: a header section past them is neither read nor authenticated.
			parsed = await parseMessage(state.head.subarray(0, state.headerBytes));
		} catch (headerError) {
			state.bodySkipped = 'the header section cannot be read';
			holdWithoutAuthor(state, 'header-unreadable', `the header section cannot be read (${(headerError as Error).message})`);
			return;
		}
		note(state, 'mime-parse-error', `MIME structure could not be parsed (${whole.message}); only the header section was read`);
	} else {
		parsed = whole;
	}
	state.parsed = parsed;
	checkAuthor(state, state.parsed);
	if (state.parsed.textConversionError) {
		note(state, 'html-not-converted', `HTML body could not be turned into text (${state.parsed.textConversionError.message})`);
	}
}

/**
 * Carriage returns in a row a header section may hold: RFC 5322 allows a CR only before its LF, and mailauth's header
 * reading grows with the square of a run of them inside a line (80 KB took 2.9 s); broken line endings write two.
 */
const MAX_CR_RUN = 16;

function longestCrRun(bytes: Buffer): number {
	let longest = 0;
	for (let at = bytes.indexOf(0x0d); at >= 0; ) {
		let end = at;
		while (bytes[end] === 0x0d) end++;
		longest = Math.max(longest, end - at);
		at = bytes.indexOf(0x0d, end);
	}
	return longest;
}

/**
 * Addresses a From or Return-Path field may list (counted by their separators) for the message to be authenticated:
 * mailauth reads both with an address parser whose time grows with the square of their number (a From of 30,000
 * took 1.8 s; the 1 MB a header section may take holds 70,000). A From names one author; Postfix's own limit on
 * address tokens is 10,240.
 */
const MAX_LISTED_ADDRESSES = 1000;

/** A From or Return-Path field listing more addresses than mailauth can read in bounded time, described; null when none does. */
function overlongAddressList(parsed: ParsedMail): string | null {
	for (const { key, line } of parsed.headerLines) {
		if (key !== 'from' && key !== 'return-path') continue;
		let separators = 0;
		for (let at = 0; at < line.length; at++) if (line[at] === ',' || line[at] === ';') separators++;
		if (separators >= MAX_LISTED_ADDRESSES) return `a ${key === 'from' ? 'From' : 'Return-Path'} field lists as many as ${separators + 1} addresses (counted by their commas and semicolons; fewer than ${MAX_LISTED_ADDRESSES} are read)`;
	}
	return null;
}

/** Parse: mailparser for the message, its parts watched for what it does not report (depth, lying encodings). */
export const parseStage: IntakeStage = {
	name: 'parse',
	async run(state) {
		const crRun = state.bodySkipped ? 0 : longestCrRun(state.head.subarray(0, state.headerBytes));
		if (crRun > MAX_CR_RUN) {
			state.bodySkipped = 'the header section holds a run of carriage returns';
			holdWithoutAuthor(state, 'header-unreadable', `the header section holds ${crRun} carriage returns in a row (RFC 5322 allows one only before a line feed): neither read in full nor authenticated`);
		}
		if (state.bodySkipped) {
			state.parsed = await parseHeaderSection(state.head, state.headerBytes);
			checkAuthor(state, state.parsed);
			return;
		}
		await parseWhole(state);
		const overlong = state.parsed && overlongAddressList(state.parsed);
		if (overlong) {
			state.bodySkipped = overlong;
			holdWithoutAuthor(state, 'header-unreadable', `${overlong}: not authenticated`);
		}
	},
};
