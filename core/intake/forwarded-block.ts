import EmailForwardParser from 'email-forward-parser';
import { htmlToText } from 'html-to-text';

import forwardLabels from './forward-labels.json';
import { isEmailAddress, parseAddresses } from './headers';

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
/** Lines are cut here: forward header lines are shorter (Yahoo's one-line header block opens with its From). */
const MAX_LINE = 160;
/** Ends a line with an address cut at MAX_LINE: a From line cut there may name another address further on. */
const CUT_ADDRESS = '\u2026\u2026';
/** A whitespace run keeps at most two line breaks and this much of the indentation after them. */
const MAX_INDENT = 8;
/** A forward header block is at most this many lines (From, Sent, To, Cc, Subject, Reply-To and a few others). */
const MAX_HEADER_LINES = 12;

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

/** A message's HTML is read this far for forwards: the forward header opens it, after the head's styles. */
const MAX_HTML = 128 * 1024;
/** As mailparser's own conversion: html-to-text's walk overflows the stack past about 2000 levels. */
const MAX_HTML_DEPTH = 1000;

/**
 * The text the forward readers see of a message: its HTML when it has one, converted by html-to-text as a forward
 * header needs it, else its text. mailparser's text of HTML wraps lines at 80 characters and runs table cells
 * together, so Thunderbird's header table (a row per header) came out as one line of labels and values.
 */
export function forwardReadingText(text: string, html: string | false | undefined): string {
	if (!html) return text;
	try {
		return htmlToText(html.slice(0, MAX_HTML), {
			wordwrap: false,
			limits: { maxDepth: MAX_HTML_DEPTH },
			selectors: [{ selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } }],
		});
	} catch {
		return text;
	}
}

type Field = 'from' | 'date' | 'to' | 'cc' | 'subject' | 'replyTo';
const FIELDS: Field[] = ['from', 'date', 'to', 'cc', 'subject', 'replyTo'];

/** "-------- Weitergeleitete Nachricht --------", "Begin forwarded message:" -> the words, lower-cased. */
function separatorWords(line: string): string {
	let start = 0;
	let end = line.length;
	const rule = (c: string) => c === '-' || c === '_' || c === ' ' || c === '\t';
	while (start < end && rule(line[start])) start++;
	while (end > start && rule(line[end - 1])) end--;
	if (line[end - 1] === ':' || line[end - 1] === '：') end--;
	return line.slice(start, end).trim().toLowerCase();
}

/** What ends a label: the colon, the full-width colon, and the Armenian "՝" K-9 Mail's Armenian labels end with. */
const LABEL_END = /[:：՝]/;

/** Every label of forward-labels.json (lower-cased) with the fields it names: "da" is From in Italian, To in Breton. */
const LABELS = new Map<string, Set<Field>>();
/** The separator words of forward-labels.json. */
const SEPARATORS = new Set<string>();
for (const template of forwardLabels.templates) {
	for (const field of FIELDS) {
		for (const label of template[field]) {
			// The data drops the colon; a few labels keep their own ("Ումից՝"), which a line's label never holds.
			const key = (LABEL_END.test(label.slice(-1)) ? label.slice(0, -1) : label).trim().toLowerCase();
			LABELS.set(key, (LABELS.get(key) ?? new Set<Field>()).add(field));
		}
	}
	for (const separator of template.separators) {
		const words = separatorWords(separator);
		if (words) SEPARATORS.add(words);
	}
}
const FORWARD_PREFIXES = new Set(forwardLabels.subjectPrefixes.map((p) => p.prefix.toLowerCase()));

/** A line with its quote marks taken off: "> > From: x" is depth 2, text "From: x". */
interface Line {
	depth: number;
	text: string;
}

function unquoted(line: string): Line {
	let depth = 0;
	let i = 0;
	for (; i < line.length && (line[i] === '>' || line[i] === ' ' || line[i] === '\t'); i++) if (line[i] === '>') depth++;
	return { depth, text: line.slice(i).trimEnd() };
}

/** A line with at most `depth` quote marks (and the blank after each) taken off: the block's own text. */
function withoutQuotes(line: string, depth: number): string {
	let i = 0;
	for (let taken = 0; taken < depth; taken++) {
		let j = i;
		while (line[j] === ' ' || line[j] === '\t') j++;
		if (line[j] !== '>') break;
		i = j + 1;
		if (line[i] === ' ') i++;
	}
	return line.slice(i);
}

/** A separator of the data, or a rule: "________________________________", "-----Original Message-----", "--- x ---". */
function isSeparator(text: string): boolean {
	if (SEPARATORS.has(separatorWords(text))) return true;
	const s = text.trim();
	let start = 0;
	while (s[start] === '-' || s[start] === '_') start++;
	if (start === s.length) return start >= 10;
	let end = s.length;
	while (end > start && (s[end - 1] === '-' || s[end - 1] === '_')) end--;
	const words = s.slice(start, end).trim();
	return start >= 3 && s.length - end >= 3 && words.length > 0 && words.length <= 80;
}

interface Header {
	fields: Set<Field> | undefined;
	value: string;
}

/** "Label: value" (also "**Label**：value", "*Label:* value"); the label is searched for only near the start of the line. */
function headerLine(text: string): Header | null {
	const colon = text.slice(0, 64).search(LABEL_END);
	if (colon <= 0) return null;
	let label = text.slice(0, colon).trim();
	let start = 0;
	while (label[start] === '*') start++;
	let end = label.length;
	while (end > start && label[end - 1] === '*') end--;
	label = label.slice(start, end).trim();
	if (!label || label.length > 40 || label.includes('*')) return null;
	let value = text.slice(colon + 1);
	while (value[0] === '*') value = value.slice(1);
	return { fields: LABELS.get(label.toLowerCase()), value: value.trim() };
}

const has = (headers: Header[], field: Field) => headers.some((h) => h.fields?.has(field));

/** The longest label the data knows, in characters: how far back from a colon a label is looked for. */
const MAX_LABEL = Math.max(...[...LABELS.keys()].map((label) => label.length));

const isLower = (c: string) => c !== c.toUpperCase() && c === c.toLowerCase();
const isUpper = (c: string) => c !== c.toLowerCase() && c === c.toUpperCase();

/** A label can start a field at `at`: after a space or a sign, or glued to a word as a capital ("NovákAn:"), never inside one ("mailto:"). */
function startsField(value: string, at: number): boolean {
	const previous = value[at - 1];
	return at === 0 || !/[\p{L}\p{N}]/u.test(previous) || (isLower(previous) && isUpper(value[at]));
}

/** The labels of the data along a line, in order: each colon looked behind at most MAX_LABEL characters, linear in the line. */
function labelsAlong(value: string): Array<{ fields: Set<Field>; at: number; label: string }> {
	const labels: Array<{ fields: Set<Field>; at: number; label: string }> = [];
	for (let colon = value.search(LABEL_END); colon > 0; ) {
		const found = labelEndingAt(value, colon);
		if (found) labels.push({ ...found, label: value.slice(found.at, colon).trim().toLowerCase() });
		const next = value.slice(colon + 1).search(LABEL_END);
		colon = next < 0 ? -1 : colon + 1 + next;
	}
	return labels;
}

/**
 * A From value that runs into the next field on its line ("Jan NovákAn: Alex <alex@x>", as Yahoo's text part
 * writes it) ends where that field's label starts, so the next field's address is never the author's.
 */
function ownValue(value: string): string {
	const next = labelsAlong(value).find((label) => !label.fields.has('from'));
	return next ? value.slice(0, next.at).trim() : value;
}

/**
 * The longest label of the data that ends at `colon` (French writes a space before it: "À :") and can start a field
 * there, looked for at most MAX_LABEL back.
 */
function labelEndingAt(text: string, colon: number): { fields: Set<Field>; at: number } | null {
	const end = text[colon - 1] === ' ' ? colon - 1 : colon;
	const before = text.slice(Math.max(0, end - MAX_LABEL), end).toLowerCase();
	for (let start = 0; start < before.length; start++) {
		const fields = LABELS.get(before.slice(start));
		const at = end - (before.length - start);
		if (fields && startsField(text, at)) return { fields, at };
	}
	return null;
}

/** The fields of the label an address stands under on its line: the nearest label before it (at most 8 colons back). */
function fieldsBefore(text: string, index: number): Set<Field> | null {
	let colon = index;
	for (let looked = 0; looked < 8; looked++) {
		colon = Math.max(text.lastIndexOf(':', colon - 1), text.lastIndexOf('：', colon - 1), text.lastIndexOf('՝', colon - 1));
		if (colon <= 0) return null;
		const label = labelEndingAt(text, colon);
		if (label) return label.fields;
	}
	return null;
}

/** The header lines from `first` on, at one quote depth; lines with a label the data lacks ("Importance:") are kept. */
function headerRun(lines: Line[], first: number): { headers: Header[]; next: number } {
	const headers: Header[] = [];
	let next = first;
	for (; next < lines.length && next < first + MAX_HEADER_LINES && lines[next].depth === lines[first].depth; next++) {
		const header = headerLine(lines[next].text);
		if (!header) break;
		headers.push(header);
	}
	return { headers, next };
}

/** The author's From value: the whole line's value, or (Yahoo's run-together text) up to the next field's label. */
interface AuthorValue {
	value: string;
	/** Where another author's address could hide: the value as far as the To field, for a run-together line. */
	claims: string;
	/** Why the value names no author that can be believed. */
	doubt?: string;
}

/**
 * Only Yahoo's text part runs the other fields into the From line, and then they stand on no line of their own: in a
 * block with other header lines, a label inside the From value is the display name's own text
 * (`"Carol <carol@x> To: y" <mallory@z>`), so the whole value is the author's. On a run-together line Yahoo writes
 * each field once, To right after From: a repeated label, or a second address before the To, is a display name's.
 */
function authorValue(value: string, labelledLines: number): AuthorValue {
	const labels = labelsAlong(value).filter((label) => !label.fields.has('from'));
	if (!labels.length || labelledLines > 1) return { value, claims: value };
	const to = labels.find((label) => label.fields.has('to'));
	const claims = value.slice(0, (to ?? labels[0]).at);
	const repeated = labels.find((label, i) => labels.findIndex((other) => other.label === label.label) !== i);
	return { value: value.slice(0, labels[0].at).trim(), claims, doubt: repeated ? `the field "${repeated.label}" twice on the author's line` : undefined };
}

/**
 * The distinct addresses a value names: every word with an @, whatever it looks like (a quoted local part or a
 * literal domain is an address too), mailto: links and quotes folded so a client's copies of one address count once.
 * One linear split, no regex on the words.
 */
function addressesNamed(value: string): string[] {
	const named = new Set<string>();
	for (const word of value.split(/[\s<>()[\],;]+/)) {
		const address = word.replace(/^mailto:/i, '').replace(/^["']+|["']+$/g, '').toLowerCase();
		if (address.length > 1 && address.includes('@')) named.add(address);
	}
	return [...named];
}

/**
 * A From value naming more than one address has no author to believe: a display name can carry any text, so the
 * forwarder's client shows `"Carol <carol@customer.example>" <mallory@evil.example>` as two addresses, the victim's
 * first. That holds for Outlook's "A on behalf of B" too: A is a Sender header anyone writes (and the words can be a
 * display name's). A line cut with an address in it is ambiguous: an address after the cut is never seen.
 */
function ambiguousAuthor(author: AuthorValue): { address: null; name: string; ambiguous: string[] } | null {
	const named = addressesNamed(author.claims);
	const cut = author.claims.includes(CUT_ADDRESS);
	if (!cut && !author.doubt && named.length <= 1) return null;
	const value = author.value;
	const name = value.slice(0, Math.max(0, value.indexOf('<'))).replace(/^["'\s]+|["'\s]+$/g, '').slice(0, 100);
	const more = [...(cut ? [`more beyond the line's first ${MAX_LINE} characters`] : []), ...(author.doubt ? [author.doubt] : [])];
	return { address: null, name, ambiguous: [...named, ...more] };
}

/** The author line: a From label of the data (one that names only From, when a block has both kinds). */
function authorOf(headers: Header[]): { address: string | null; name: string; ambiguous?: string[] } | null {
	const fromOnly = headers.filter((h) => h.fields?.size === 1 && h.fields.has('from'));
	const fromToo = headers.filter((h) => h.fields?.has('from'));
	const line = fromOnly[0] ?? fromToo[0];
	if (!line) return null;
	const author = authorValue(line.value, headers.filter((h) => h.fields).length);
	// A second From line is a display name's or a subject's (a client that kept its line break).
	if (fromOnly.length > 1 || (!fromOnly.length && fromToo.length > 1)) author.doubt = 'two From lines in one forward header';
	const ambiguous = ambiguousAuthor(author);
	if (ambiguous) return ambiguous;
	// Outlook writes "Name [mailto:a@b]"; an HTML forward's links become "a@b <mailto:a@b>" or "Name [a@b]".
	const value = author.value.replace(/\[mailto:([^[\]]*)\]/gi, '<$1>').replace(/<mailto:([^<>]*)>/gi, '<$1>');
	const mailbox = parseAddresses(value)[0];
	if (mailbox) return mailbox;
	const bracketed = /\[([^[\]\s]+@[^[\]\s]+)\]/.exec(value)?.[1];
	if (isEmailAddress(bracketed)) return { address: bracketed.toLowerCase(), name: value.slice(0, value.indexOf('[')).trim() };
	return { address: null, name: value.replace(/^["']+|["']+$/g, '').slice(0, 100) };
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

/**
 * The first manually forwarded block in a plain-text body (mailparser's text of an HTML-only message included):
 * email-forward-parser (many clients and locales, a note typed above the block) and the labels of
 * forward-labels.json, the block that opens first. A forward seen first and not read makes the whole body unreadable:
 * taking a deeper block would name whoever the forwarded message's own sender chose to write there. A chain is read
 * one block at a time (the caller decides how deep, by who forwarded what); `depth` is this block's level in it.
 */
export function readForwardedBlock(text: string, subject: string, depth = 0): ForwardedBlock | UnreadableBlock | null {
	const bounded = boundedText(text, Math.ceil(MAX_TEXT / 2 ** depth));
	const raw = bounded.split('\n');
	const lines = raw.map(unquoted);
	const labelled = firstLabelledBlock(raw, lines);
	const library = libraryBlock(bounded, raw, lines, subject);
	// The block that opens first; on the same line a block read beats one not read, and the labels beat the library (they read the block's own lines).
	const first = [labelled, library].filter((f): f is Found => !!f).sort((a, b) => a.line - b.line || Number(!a.block) - Number(!b.block))[0];
	if (!first) return null;
	if (!first.block) return { unreadable: first.reason };
	return { ...first.block, via: first === library ? 'email-forward-parser' : 'forward-labels' };
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
