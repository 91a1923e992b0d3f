import EmailForwardParser from 'email-forward-parser';

import { isEmailAddress } from '../address';
import {
	ambiguousAuthor,
	authorOf,
	authorValue,
	CUT_ADDRESS,
	fieldsBefore,
	FORWARD_PREFIXES,
	has,
	headerLine,
	headerRun,
	isSeparator,
	MAX_HEADER_LINES,
	MAX_LINE,
	ownValue,
	SEPARATORS,
	separatorWords,
	unquoted,
	withoutQuotes,
	type Header,
	type Line,
} from './forward-header';

/** One forwarded block: who wrote the message inside it, and what it says (where a deeper block may sit). */
export interface ForwardedBlock {
	/** null when the block's From line names its author without an address, or names several (nobody to file the mail under). */
	address: string | null;
	name: string;
	/** The addresses a From line names when it names more than one author: a display name can carry any address. */
	ambiguous?: string[];
	body: string;
	subject: string;
	/** Which reader recognised the block. */
	via: 'email-forward-parser' | 'forward-labels';
}

/**
 * Forward headers sit near the top of a body: a reader sees at most this much of it, and each level of a chain
 * half as much as the level outside it (its headers open what it reads), so a whole chain reads at most twice this.
 */
const MAX_TEXT = 32 * 1024;
/** A whitespace run keeps at most two line breaks and this much of the indentation after them. */
const MAX_INDENT = 8;

/**
 * The part of a body the forward readers see, in one linear pass: at most `limit` characters, lines cut at
 * MAX_LINE, whitespace runs folded. email-forward-parser's regexes run on V8's backtracking engine (its RE2 option
 * is a native addon) and cost a power of the length of a whitespace run or a line: bounding both keeps them linear.
 */
function boundedText(text: string, limit: number): string {
	return text
		.slice(0, limit)
		.split(/\r?\n/)
		// A line is what the forwarding client showed as one: a separator inside it is a display name's or a subject's.
		.map((line) => line.replace(/[\r\u0085\u2028\u2029]/g, ' '))
		.map((line) => (line.length > MAX_LINE && line.includes('@') ? line.slice(0, MAX_LINE) + CUT_ADDRESS : line.slice(0, MAX_LINE)))
		.join('\n')
		.replace(/\u00a0/g, ' ')
		.replace(/\ufeff/g, '')
		.replace(/\s+/g, (run) => {
			const lastBreak = run.lastIndexOf('\n');
			if (lastBreak < 0) return run.slice(0, MAX_INDENT);
			const breaks = run.split('\n').length - 1;
			return '\n'.repeat(Math.min(breaks, 2)) + run.slice(lastBreak + 1, lastBreak + 1 + MAX_INDENT);
		});
}

/** Where a forward opens, by line: read, or seen and not read (`reason` says why). */
interface Found {
	line: number;
	block: Omit<ForwardedBlock, 'via'> | null;
	reason: string;
}

/**
 * The first forward the data sees, in line order: a separator line (or any dashed or underscore rule) and header
 * lines after it, or, as Outlook writes it, no separator and a From line opening From, Sent/Date and To/Subject
 * lines. Quote marks (at any depth) are taken off the block's lines as they stand on its first header line.
 * A separator of the data, or a From line opening a run of header lines, that cannot be read is returned too, without
 * a block: nothing below it is looked at (what sits below a forward header is the forwarded sender's to write).
 */
function firstLabelledBlock(raw: string[], lines: Line[]): Found | null {
	for (let i = 0; i < lines.length; i++) {
		let first = i;
		const named = SEPARATORS.has(separatorWords(lines[i].text));
		const separated = lines[i].text !== '' && (named || isSeparator(lines[i].text));
		if (separated) {
			first = i + 1;
			while (first < lines.length && !lines[first].text) first++;
		} else if (!headerLine(lines[i].text)?.fields?.has('from')) continue;
		const { headers, next } = first < lines.length ? headerRun(lines, first) : { headers: [], next: first };
		const known = headers.filter((h) => h.fields);
		const author = authorOf(headers);
		if (author && known.length >= 2 && (separated || (has(headers, 'date') && (has(headers, 'to') || has(headers, 'subject'))))) {
			const depth = lines[first].depth;
			const subject = headers.find((h) => h.fields?.has('subject') && !h.fields.has('from'))?.value ?? '';
			return { line: i, block: { ...author, subject, body: raw.slice(next).map((line) => withoutQuotes(line, depth)).join('\n') }, reason: '' };
		}
		if (named) return { line: i, block: null, reason: `a forward separator ("${lines[i].text.slice(0, 60)}") without header lines naming an author` };
		if (!separated && headers.length >= 3) return { line: i, block: null, reason: `forward header lines ("${lines[i].text.slice(0, 60)}") that do not make a block` };
	}
	return null;
}

/**
 * email-forward-parser's block, placed: the line it starts on (after the note the library returns) and whether the
 * author it answers is that block's own. The library looks for a From line anywhere below its separator, so a From
 * label it lacks would let it answer a deeper block's author: its author must stand on the first line of the block
 * that carries an address, and that line must not be a header line of another field.
 */
function libraryBlock(bounded: string, raw: string[], lines: Line[], subject: string): Found | null {
	const result = new EmailForwardParser().read(bounded, subject);
	if (result.email.body === undefined) return null;
	// boundedText leaves nothing for the library to clean (line breaks, BOM, no-break spaces): its note is ours verbatim.
	const note = result.message ?? '';
	const lead = bounded.length - bounded.trimStart().length;
	if (!bounded.startsWith(note, lead)) return { line: 0, block: null, reason: 'email-forward-parser read a forward it could not place' };
	const rest = lead + note.length;
	const start = rest + (bounded.length - rest - bounded.slice(rest).trimStart().length);
	const line = countLines(bounded, start);
	const from = result.email.from;
	const address = isEmailAddress(from.address) ? from.address.toLowerCase() : null;
	const at = bounded.indexOf('@', start);
	const authorAt = at < 0 ? -1 : countLines(bounded, at);
	const authorLine = lines[authorAt];
	const header = authorLine ? headerLine(authorLine.text) : null;
	if (!address || !authorLine?.text.toLowerCase().includes(address) || (header?.fields && !header.fields.has('from'))) {
		return { line, block: null, reason: `email-forward-parser read a forward whose author${address ? ` (${address}) is not on its first address line` : ' has no address'}` };
	}
	// The body is what follows the author's header lines: the library's own skips down to the last Subject line it finds, a deeper block's included.
	const { next } = headerRun(lines, authorAt);
	const body = raw.slice(Math.max(next, authorAt + 1)).map((text) => withoutQuotes(text, authorLine.depth)).join('\n');
	// The address the library took may stand under another field's label on the author's line (Yahoo's text runs the
	// fields together): then the author has none.
	const fields = fieldsBefore(authorLine.text, authorLine.text.toLowerCase().indexOf(address));
	if (fields && !fields.has('from')) return { line, block: { address: null, name: ownValue(from.name ?? '').slice(0, 100), body, subject: '' }, reason: '' };
	const colon = Math.max(...[':', '：', '՝'].map((c) => authorLine.text.lastIndexOf(c, authorLine.text.toLowerCase().indexOf(address))));
	const labelled = lines.slice(authorAt, next).filter((l) => headerLine(l.text)?.fields).length;
	const ambiguous = ambiguousAuthor(authorValue(header?.fields ? header.value : authorLine.text.slice(colon + 1), labelled));
	if (ambiguous) return { line, block: { ...ambiguous, body, subject: '' }, reason: '' };
	// Its subject is the outer one when that has a forward prefix: the block's own Subject line is not told apart.
	return { line, block: { address, name: from.name ?? '', body, subject: '' }, reason: '' };
}

/** The line `offset` falls on. */
function countLines(text: string, offset: number): number {
	let count = 0;
	for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) count++;
	return count;
}

/** A forward the readers saw and could not read: whoever is named below it is not believed. */
export interface UnreadableBlock {
	unreadable: string;
}

/** The lines a client may have wrapped a header value onto, at most. */
const MAX_CONTINUATION_LINES = 3;
/** As much of a subject as a header line and its continuations can show. */
const MAX_SUBJECT = (MAX_CONTINUATION_LINES + 1) * MAX_LINE;

/**
 * A subject or a header value as compared: lower-cased, without whitespace or invisible format characters (a client
 * wraps a long line, the readers fold or drop such characters, a subject keeps them).
 */
const compared = (text: string) => text.toLowerCase().replace(/[\s\p{Cf}\u0085]+/gu, '');

/** The forwarded message's subject as the outer one may carry it: whole, or after each colon a client's prefix ends with ("PLU: x", "[PLU: x]"). */
function forwardedSubjects(subject: string): string[] {
	let s = subject.trim();
	if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
	// A header line shows at most MAX_LINE characters and a few wrapped lines of it: the rest is never compared.
	s = s.slice(0, MAX_SUBJECT);
	const subjects = [compared(s)];
	// A prefix is a word or two ("Fwd: PLU: x"): its colon stands near the start.
	for (let i = 0; i < Math.min(s.length, 40) && subjects.length <= 3; i++) if (s[i] === ':' || s[i] === '：') subjects.push(compared(s.slice(i + 1)));
	return subjects;
}

/** A value names an address other than `own` (the one writing the text: a signature's "Email:"), in one split. */
function namesAddress(value: string, own: string | null): boolean {
	return value.split(/[\s<>()[\],;:"']+/).some((word) => word.length > 2 && word.includes('@') && word.toLowerCase() !== own?.toLowerCase());
}

/** A header line of a run, and the text of the lines after it (a client may have wrapped its value there). */
interface RunHeader extends Header {
	after: string;
}

/**
 * The header lines from `first` on, at one quote depth, above line `before` and above a From line of the data (the
 * readers' business, and below a forward header the forwarded sender's text): up to MAX_CONTINUATION_LINES lines after
 * a header line that are none (a value wrapped) do not end the run. `continued` is those lines' text.
 */
function unlabelledRun(lines: Line[], first: number, before: number): { headers: RunHeader[]; continued: string } {
	const headers: RunHeader[] = [];
	let continued = '';
	let wraps = 0;
	for (let j = first; j < before && headers.length < MAX_HEADER_LINES && lines[j].depth === lines[first].depth; j++) {
		const header = headerLine(lines[j].text);
		if (header?.fields?.has('from')) break;
		if (header) {
			let after = '';
			for (let k = j + 1; k <= j + MAX_CONTINUATION_LINES && k < lines.length && lines[k].text && lines[k].depth === lines[j].depth; k++) after += ` ${lines[k].text}`;
			headers.push({ ...header, after });
			wraps = 0;
		} else if (headers.length && lines[j].text && wraps++ < MAX_CONTINUATION_LINES) continued += ` ${lines[j].text}`;
		else break;
	}
	return { headers, continued };
}

/** The label of a client's Subject line is a word or two ("Betreff", "Chủ đề"); a line of a note that ends in a colon is a sentence. */
const MAX_LABEL_WORDS = 2;

/**
 * A forward header in labels the data lacks (a client or a language forward-labels.json does not know), above line
 * `before`: three header lines or more at one quote depth, after a separator or not, above any From line of the data,
 * that name an address other than the `writer`'s own (the forwarded sender's; or an address cut off with its line)
 * and carry the forwarded subject (every client writes both into its header): whole, its start where the line was cut,
 * or wrapped onto the lines after it; where that subject is empty, a Subject line of a word or two with no value. The writer's own
 * lines above a forward (a signature's "Email:", a note's "Ticket:") do not do all of it.
 */
function unlabelledHeader(lines: Line[], subject: string, writer: string | null, before = lines.length): Found | null {
	const forwarded = forwardedSubjects(subject);
	// "PLU:" or "": the forwarded subject is empty, and the client's Subject line has no value.
	const empty = forwarded.includes('');
	const subjects = forwarded.filter((s) => s);
	const carriesSubject = ({ label, value, after }: RunHeader) => {
		const v = compared(value.endsWith(CUT_ADDRESS) ? value.slice(0, -CUT_ADDRESS.length) : value);
		if (!v) return empty && label.split(/\s+/).length <= MAX_LABEL_WORDS;
		return subjects.some((s) => v === s || (v.length >= 8 && s.startsWith(v)) || (s.startsWith(v) && compared(value + after).startsWith(s)));
	};
	for (let i = 0; i < Math.min(lines.length, before); i++) {
		let first = i;
		if (lines[i].text && isSeparator(lines[i].text)) {
			first = i + 1;
			while (first < lines.length && !lines[first].text) first++;
		}
		if (first >= Math.min(lines.length, before)) break;
		const { headers, continued } = unlabelledRun(lines, first, before);
		if (headers.length < 3) continue;
		const address = headers.some((h) => h.value.endsWith(CUT_ADDRESS) || namesAddress(h.value, writer)) || namesAddress(continued, writer);
		if (address && headers.some(carriesSubject)) {
			return { line: i, block: null, reason: `forward header lines in labels the readers do not know ("${lines[i].text.slice(0, 60)}"), naming an address and the forwarded subject` };
		}
	}
	return null;
}

/** The lines the readers see of a body, at a chain's `depth`: as bounded, as shown, and with quote marks taken off. */
function readerLines(text: string, depth: number): { bounded: string; raw: string[]; lines: Line[] } {
	const bounded = boundedText(text, Math.ceil(MAX_TEXT / 2 ** depth));
	const raw = bounded.split('\n');
	return { bounded, raw, lines: raw.map(unquoted) };
}

/**
 * The first manually forwarded block in a plain-text body (mailparser's text of an HTML-only message included):
 * email-forward-parser (many clients and locales, a note typed above the block) and the labels of
 * forward-labels.json, the block that opens first. A forward seen first and not read makes the whole body unreadable:
 * taking a deeper block would name whoever the forwarded message's own sender chose to write there; so does a forward
 * header in labels the data lacks above the block (its client's, the block below it the forwarded mail's text). A
 * chain is read one block at a time (the caller decides how deep, by who forwarded what); `depth` is this block's
 * level in it, `writer` the address of whoever wrote the text (the forwarder).
 */
export function readForwardedBlock(text: string, subject: string, depth = 0, writer: string | null = null): ForwardedBlock | UnreadableBlock | null {
	const { bounded, raw, lines } = readerLines(text, depth);
	const labelled = firstLabelledBlock(raw, lines);
	const library = libraryBlock(bounded, raw, lines, subject);
	// The block that opens first; on the same line a block read beats one not read, and the labels beat the library (they read the block's own lines).
	const first = [labelled, library].filter((f): f is Found => !!f).sort((a, b) => a.line - b.line || Number(!a.block) - Number(!b.block))[0];
	if (!first) return null;
	const unlabelled = unlabelledHeader(lines, subject, writer, first.line);
	if (unlabelled) return { unreadable: unlabelled.reason };
	if (!first.block) return { unreadable: first.reason };
	return { ...first.block, via: first === library ? 'email-forward-parser' : 'forward-labels' };
}

/**
 * Why a body with no block the readers know is still a forward inline (a header in labels the data lacks), or null:
 * such a forward carries the forwarded mail's attachments along, so an attached message in it is nobody's forward.
 */
export function unlabelledForward(text: string, subject: string, depth = 0, writer: string | null = null): string | null {
	return unlabelledHeader(readerLines(text, depth).lines, subject, writer)?.reason ?? null;
}

/**
 * A forward's subject without the forward prefixes of any language in the data, repeated ("Fwd: Fw: WG: x") or
 * bracketed ("[Fwd: x]"); one pass over the subject, whatever its length.
 */
export function withoutForwardPrefixes(subject: string): string {
	let start = 0;
	let end = subject.length;
	for (;;) {
		while (start < end && /\s/.test(subject[start])) start++;
		const bracketed = subject[start] === '[' && subject[end - 1] === ']';
		const from = bracketed ? start + 1 : start;
		const colon = subject.slice(from, Math.min(end, from + 24)).search(/[:：]/);
		if (colon <= 0 || !FORWARD_PREFIXES.has(subject.slice(from, from + colon).trim().toLowerCase())) break;
		start = from + colon + 1;
		if (bracketed) end--;
	}
	return subject.slice(start, end).trim();
}
