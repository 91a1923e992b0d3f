import type { AddressObject, ParsedMail } from 'mailparser';
import addressparser from 'nodemailer/lib/addressparser';

import { isEmailAddress } from '../address';
import type { AddressValue } from './types';

/** Bytes of the top-level header section up to and including the blank line (or the whole input). */
export function headerSectionLength(raw: Buffer): number {
	const crlf = raw.indexOf('\r\n\r\n');
	const lf = raw.indexOf('\n\n');
	const ends = [crlf >= 0 ? crlf + 4 : -1, lf >= 0 ? lf + 2 : -1].filter((n) => n >= 0);
	return ends.length ? Math.min(...ends) : raw.length;
}

// C0 controls (NUL, CR, LF, TAB ...) and DEL belong in no line of decoded header text: CR/LF would start a new
// header line in a reply, PostgreSQL refuses NUL in text.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'g');

export function hasControlCharacters(value: string): boolean {
	return CONTROL_CHARACTER.test(value);
}

/** Header text (decoded) made one plain line: each control character becomes a space. */
export function foldControlCharacters(value: string): string {
	return value.replace(CONTROL_CHARACTERS, ' ');
}

/** Every value of a header as decoded text (address headers as mailparser's text form). */
export function headerTexts(parsed: ParsedMail | null, key: string): string[] {
	const value = parsed?.headers.get(key.toLowerCase());
	if (value === undefined || value === null) return [];
	const values = Array.isArray(value) ? value : [value];
	return values
		.map((v: unknown) => {
			if (typeof v === 'string') return v;
			if (v instanceof Date) return v.toISOString();
			if (v && typeof v === 'object' && 'text' in v) return String((v as AddressObject).text);
			if (v && typeof v === 'object' && 'value' in v) return String((v as { value: unknown }).value);
			return String(v);
		})
		.map((s) => s.trim());
}

export function firstHeader(parsed: ParsedMail | null, key: string): string | null {
	return headerTexts(parsed, key)[0] || null;
}

/** Mailboxes in a header value, groups flattened, only entries that look like addresses. */
export function parseAddresses(value: string | null | undefined): AddressValue[] {
	if (!value) return [];
	return addressparser(value, { flatten: true })
		.filter((a) => isEmailAddress(a.address))
		.map((a) => ({ address: a.address.toLowerCase(), name: a.name ?? '' }));
}

export function addressesOf(field: AddressObject | AddressObject[] | undefined): AddressValue[] {
	if (!field) return [];
	const out: AddressValue[] = [];
	for (const object of Array.isArray(field) ? field : [field]) {
		for (const entry of object.value) {
			const members = entry.group?.length ? entry.group : [entry];
			for (const m of members) {
				if (isEmailAddress(m.address)) out.push({ address: m.address.toLowerCase(), name: m.name ?? '' });
			}
		}
	}
	return out;
}

export type Author = { author: AddressValue; problem: null } | { author: null; problem: string };

/**
 * The author of a message: one From field holding one mailbox. Anything else (no From, several From fields,
 * several mailboxes, a group, a name without an address) names no author DMARC can check (RFC 7489 §6.6.1).
 */
export function authorOf(parsed: ParsedMail): Author {
	// Several stages ask about one message: its From is read once (the raw field through the address parser again).
	// The answer is shared: a caller that hands the author on copies it.
	let author = authors.get(parsed);
	if (!author) authors.set(parsed, (author = readAuthor(parsed)));
	return author;
}

const authors = new WeakMap<ParsedMail, Author>();

function readAuthor(parsed: ParsedMail): Author {
	const fields = parsed.headerLines.filter((h) => h.key === 'from');
	if (!fields.length) return { author: null, problem: 'the message has no From header' };
	if (fields.length > 1) return { author: null, problem: `the message has ${fields.length} From headers` };
	const value = headerTexts(parsed, 'from')[0];
	const text = value.length > 200 ? `${value.slice(0, 200)}…` : value;
	const entries = (Array.isArray(parsed.from) ? parsed.from[0] : parsed.from)?.value ?? [];
	if (entries.length > 1) return { author: null, problem: `From "${text}" names ${entries.length} mailboxes` };
	const [entry] = entries;
	if (entry?.group) return { author: null, problem: `From "${text}" is a group, not a mailbox` };
	if (!entry || !isEmailAddress(entry.address)) return { author: null, problem: `From "${text}" holds no usable address` };
	const address = entry.address.toLowerCase();
	// The parser decodes encoded words even inside <...>; DMARC reads the raw field: both must name this mailbox.
	const line = String(fields[0].line);
	const raw = parseAddresses(line.slice(line.indexOf(':') + 1));
	if (raw.length !== 1 || raw[0].address !== address) return { author: null, problem: `From "${text}" names ${address} only once decoded, not as written, where DMARC reads it` };
	return { author: { address, name: entry.name ?? '' }, problem: null };
}
