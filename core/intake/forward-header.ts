/**
 * A forward header's lines, read by the labels of forward-labels.json (every client and language the data names), and
 * its author: the From line's address, or none when the line names no author that can be believed.
 */
import { isEmailAddress } from '../address';
import forwardLabels from './forward-labels.json';
import { parseAddresses } from './headers';

/** Lines are cut here: forward header lines are shorter (Yahoo's one-line header block opens with its From). */
export const MAX_LINE = 160;
/** Ends a line with an address cut at MAX_LINE: a From line cut there may name another address further on. */
export const CUT_ADDRESS = '\u2026\u2026';
/** A forward header block is at most this many lines (From, Sent, To, Cc, Subject, Reply-To and a few others). */
export const MAX_HEADER_LINES = 12;

export type Field = 'from' | 'date' | 'to' | 'cc' | 'subject' | 'replyTo';
const FIELDS: Field[] = ['from', 'date', 'to', 'cc', 'subject', 'replyTo'];

/** "-------- Weitergeleitete Nachricht --------", "Begin forwarded message:" -> the words, lower-cased. */
export function separatorWords(line: string): string {
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
export const SEPARATORS = new Set<string>();
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
export const FORWARD_PREFIXES = new Set(forwardLabels.subjectPrefixes.map((p) => p.prefix.toLowerCase()));

/** A line with its quote marks taken off: "> > From: x" is depth 2, text "From: x". */
export interface Line {
	depth: number;
	text: string;
}

export function unquoted(line: string): Line {
	let depth = 0;
	let i = 0;
	for (; i < line.length && (line[i] === '>' || line[i] === ' ' || line[i] === '\t'); i++) if (line[i] === '>') depth++;
	return { depth, text: line.slice(i).trimEnd() };
}

/** A line with at most `depth` quote marks (and the blank after each) taken off: the block's own text. */
export function withoutQuotes(line: string, depth: number): string {
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
export function isSeparator(text: string): boolean {
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

export interface Header {
	/** The label as written, without its colon and emphasis ("Betreff"). */
	label: string;
	fields: Set<Field> | undefined;
	value: string;
}

/** "Label: value" (also "**Label**：value", "*Label:* value"); the label is searched for only near the start of the line. */
export function headerLine(text: string): Header | null {
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
	return { label, fields: LABELS.get(label.toLowerCase()), value: value.trim() };
}

export const has = (headers: Header[], field: Field) => headers.some((h) => h.fields?.has(field));

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
export function ownValue(value: string): string {
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
export function fieldsBefore(text: string, index: number): Set<Field> | null {
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
export function headerRun(lines: Line[], first: number): { headers: Header[]; next: number } {
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
export interface AuthorValue {
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
export function authorValue(value: string, labelledLines: number): AuthorValue {
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
export function ambiguousAuthor(author: AuthorValue): { address: null; name: string; ambiguous: string[] } | null {
	const named = addressesNamed(author.claims);
	const cut = author.claims.includes(CUT_ADDRESS);
	if (!cut && !author.doubt && named.length <= 1) return null;
	const value = author.value;
	const name = value.slice(0, Math.max(0, value.indexOf('<'))).replace(/^["'\s]+|["'\s]+$/g, '').slice(0, 100);
	const more = [...(cut ? [`more beyond the line's first ${MAX_LINE} characters`] : []), ...(author.doubt ? [author.doubt] : [])];
	return { address: null, name, ambiguous: [...named, ...more] };
}

/** The author line: a From label of the data (one that names only From, when a block has both kinds). */
export function authorOf(headers: Header[]): { address: string | null; name: string; ambiguous?: string[] } | null {
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
