/**
 * DNS answers as mailauth may read them in bounded time. They are the sender's to write (its own domain's records),
 * and mailauth reads some of them with work that grows faster than their size:
 * - SPF: before each lookup, mailauth checks the name with a regex that takes the square of a long label's length,
 *   on the event loop (8 KB of %{l} macros in a record: 9.9 s). RFC 7208 §7.3 keeps a looked-up name to 253
 *   characters: a record with a term that could name a longer one is answered as a broken record (permerror, the
 *   term saying why), and an SPF identity longer than that is not checked at all (`spfIdentityProblem`).
 * - DKIM and ARC keys: a key record's tags are parsed with a splice per empty tag (62 KB, fifty seals: 5.5 s). A
 *   16384-bit RSA key is 2.8 KB: a longer record is no key.
 * - SPF's a and mx mechanisms match each address of an answer against a CIDR (ten MX hosts answering 4,000 addresses
 *   each: 3.5 s): the first 100 of an answer are matched.
 */
import { MAX_NAME_LENGTH as MAX_NAME, type DnsResolver } from '../dns';
import type { Envelope } from './types';

/** The longest label of a name DNS can look up (RFC 1035); the longest name is dns.ts's. */
const MAX_LABEL = 63;
/** The longest key record read: a 16384-bit RSA key with its tags is under 3 KB. */
const MAX_KEY_RECORD = 8 * 1024;
/** Addresses of one A or AAAA answer that SPF matches. */
const MAX_ADDRESSES = 100;

/** The term a record that could name too long a domain is answered with: mailauth names it ("Unknown mechanism ..."). */
export const OVERLONG_SPF_TERM = 'name-longer-than-253-characters';

/** Why an SPF identity (the MAIL FROM domain, else the HELO name) cannot be looked up, or null. */
export function spfIdentityProblem(domain: string): string | null {
	if (domain.length > MAX_NAME) return `the name ${domain.slice(0, 60)}… is ${domain.length} characters, longer than DNS allows (${MAX_NAME})`;
	const label = domain.split('.').find((part) => part.length > MAX_LABEL);
	return label ? `the name ${domain.slice(0, 60)}… has a label of ${label.length} characters, longer than DNS allows (${MAX_LABEL})` : null;
}

/** The most characters each macro letter can stand for (RFC 7208 §7.2), for this envelope. */
function macroLengths(envelope: Envelope): Record<string, number> {
	const helo = envelope.helo?.length ?? MAX_NAME;
	const sender = envelope.mailFrom || `postmaster@${envelope.helo ?? ''}`;
	const at = sender.lastIndexOf('@');
	// d and p are names looked up (at most MAX_NAME, as this bounds them); i an address as nibbles (IPv6: 63).
	return { s: sender.length, l: Math.max(at, 10), o: sender.length - at - 1, d: MAX_NAME, i: 63, p: MAX_NAME, h: helo, v: 7, c: 63, r: MAX_NAME, t: 20 };
}

/**
 * The most characters a domain-spec can expand to: its own characters, each macro as long as what it stands for, an
 * upper-case one (URL-escaped) three times that. One pass over the term.
 */
function longestExpansion(spec: string, lengths: Record<string, number>): number {
	let length = 0;
	for (let at = 0; at < spec.length; at++) {
		if (spec[at] !== '%') {
			length++;
			continue;
		}
		const next = spec[at + 1];
		if (next === '{') {
			const end = spec.indexOf('}', at);
			const letter = spec[at + 2] ?? '';
			length += (lengths[letter.toLowerCase()] ?? MAX_NAME) * (letter === letter.toLowerCase() ? 1 : 3);
			at = end < 0 ? spec.length : end;
		} else {
			// "%%", "%_" and "%-" (a space, URL-escaped).
			length += 3;
			at++;
		}
	}
	return length;
}

/** Whether an SPF record has a term that could name a domain longer than DNS allows. */
function namesOverlongDomain(record: string, lengths: Record<string, number>): boolean {
	for (const term of record.split(/\s+/).slice(1)) {
		const mechanism = term.replace(/^[+?~-]/, '').toLowerCase();
		if (mechanism.startsWith('ip4:') || mechanism.startsWith('ip6:')) continue;
		const separator = term.search(/[:=]/);
		if (separator < 0) continue;
		// A CIDR length after the domain ("a:x/24", "mx:x//64") is not part of the name.
		const slash = term.indexOf('/', separator);
		const spec = term.slice(separator + 1, slash < 0 ? term.length : slash);
		if (longestExpansion(spec, lengths) > MAX_NAME) return true;
	}
	return false;
}

/** The text of a TXT answer's record (its strings joined, as mailauth reads it). */
const recordText = (record: unknown) => (Array.isArray(record) ? record.join('') : String(record));

function noKey(name: string, length: number): Error {
	return Object.assign(new Error(`the key record of ${name} is ${length} characters, longer than any key (at most ${MAX_KEY_RECORD} are read)`), { code: 'ENODATA', hostname: name });
}

/** The resolver mailauth is given for one message: its answers cut to what mailauth reads in bounded time. */
export function boundedAnswers(resolver: DnsResolver, envelope: Envelope): DnsResolver {
	const lengths = macroLengths(envelope);
	return async (name, rrtype) => {
		const answer: unknown = await resolver(name, rrtype);
		if (!Array.isArray(answer)) return answer;
		const type = rrtype.toUpperCase();
		if (type === 'A' || type === 'AAAA') return answer.slice(0, MAX_ADDRESSES);
		if (type !== 'TXT') return answer;
		if (name.toLowerCase().includes('._domainkey.')) {
			const keys = answer.filter((record) => recordText(record).length <= MAX_KEY_RECORD);
			if (!keys.length && answer.length) throw noKey(name, Math.min(...answer.map((record) => recordText(record).length)));
			return keys;
		}
		return answer.map((record) => {
			const text = recordText(record).trim();
			return /^v=spf1(\s|$)/i.test(text) && namesOverlongDomain(text, lengths) ? [`v=spf1 ${OVERLONG_SPF_TERM}`] : record;
		});
	};
}
