import EmailForwardParser from 'email-forward-parser';

import forwardLabels from './forward-labels.json';
import { isEmailAddress, parseAddresses } from './headers';

/** One forwarded block: who wrote the message inside it, and what it says (where a deeper block may sit). */
export interface ForwardedBlock {
	/** null when the block's From line names its author without an address (nobody to file the mail under). */
	address: string | null;
	name: string;
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
		.split(/\r\n|[\n\r\u2028\u2029]/)
		.map((line) => line.slice(0, MAX_LINE))
		.join('\n')
		.replace(/\s+/g, (run) => {
			const lastBreak = run.lastIndexOf('\n');
			if (lastBreak < 0) return run.slice(0, MAX_INDENT);
			const breaks = run.split('\n').length - 1;
			return '\n'.repeat(Math.min(breaks, 2)) + run.slice(lastBreak + 1, lastBreak + 1 + MAX_INDENT);
		});
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

/** Every label of forward-labels.json (lower-cased) with the fields it names: "da" is From in Italian, To in Breton. */
const LABELS = new Map<string, Set<Field>>();
/** The separator words of forward-labels.json. */
const SEPARATORS = new Set<string>();
for (const template of forwardLabels.templates) {
	for (const field of FIELDS) {
		for (const label of template[field]) {
			const key = label.toLowerCase();
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
	const colon = text.slice(0, 64).search(/[:：]/);
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

/** The author line: a From label of the data (one that names only From, when a block has both kinds). */
function authorOf(headers: Header[]): { address: string | null; name: string } | null {
	const line = headers.find((h) => h.fields?.size === 1 && h.fields.has('from')) ?? headers.find((h) => h.fields?.has('from'));
	if (!line) return null;
	// Outlook writes "Name [mailto:a@b]"; an HTML forward's links become "a@b <mailto:a@b>" or "Name [a@b]".
	const value = line.value.replace(/\[mailto:([^[\]]*)\]/gi, '<$1>').replace(/<mailto:([^<>]*)>/gi, '<$1>');
	const mailbox = parseAddresses(value)[0];
	if (mailbox) return mailbox;
	const bracketed = /\[([^[\]\s]+@[^[\]\s]+)\]/.exec(value)?.[1];
	if (isEmailAddress(bracketed)) return { address: bracketed.toLowerCase(), name: value.slice(0, value.indexOf('[')).trim() };
	return { address: null, name: value.replace(/^["']+|["']+$/g, '').slice(0, 100) };
}

/**
 * A forwarded block by the data: a separator line (or any dashed or underscore rule) and header lines after it,
 * or, as Outlook writes it, no separator and a From line opening From, Sent/Date and To/Subject lines. Quote marks
 * (at any depth) are taken off the block's lines as they stand on its first header line.
 */
function readLabelledBlock(text: string): Omit<ForwardedBlock, 'via'> | null {
	const raw = text.split('\n');
	const lines = raw.map(unquoted);
	for (let i = 0; i < lines.length; i++) {
		let first = i;
		const separated = lines[i].text !== '' && isSeparator(lines[i].text);
		if (separated) {
			first = i + 1;
			while (first < lines.length && !lines[first].text) first++;
		} else if (!headerLine(lines[i].text)?.fields?.has('from')) continue;
		if (first >= lines.length) return null;
		const { headers, next } = headerRun(lines, first);
		const known = headers.filter((h) => h.fields);
		if (known.length < 2 || (!separated && !(has(headers, 'date') && (has(headers, 'to') || has(headers, 'subject'))))) continue;
		const author = authorOf(headers);
		if (!author) continue;
		const depth = lines[first].depth;
		return {
			...author,
			subject: headers.find((h) => h.fields?.has('subject') && !h.fields.has('from'))?.value ?? '',
			body: raw.slice(next).map((line) => withoutQuotes(line, depth)).join('\n'),
		};
	}
	return null;
}

/**
 * The first manually forwarded block in a plain-text body (mailparser's text of an HTML-only message included):
 * email-forward-parser first (many clients and locales, a note typed above the block), the labels of
 * forward-labels.json where it falls short. A chain is read one block at a time (the caller decides how deep, by
 * who forwarded what); `depth` is this block's level in it.
 */
export function readForwardedBlock(text: string, subject: string, depth = 0): ForwardedBlock | null {
	const bounded = boundedText(text, Math.ceil(MAX_TEXT / 2 ** depth));
	const result = new EmailForwardParser().read(bounded, subject);
	const from = result.forwarded ? result.email.from : null;
	const block = readLabelledBlock(bounded);
	if (from && isEmailAddress(from.address)) {
		const address = from.address.toLowerCase();
		// The library answers the outer subject when that has a forward prefix: the block's own Subject line is the forwarded message's.
		const own = block?.address === address ? block.subject : '';
		return { address, name: from.name ?? '', body: result.email.body ?? '', subject: own, via: 'email-forward-parser' };
	}
	return block ? { ...block, via: 'forward-labels' } : null;
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
