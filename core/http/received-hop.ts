/**
 * The provider's own hop: for a post that reports no client IP (Mailgun, Postmark, SES), the client IP and HELO
 * the checks use come from the topmost Received field that records a transfer from another host. Only the start
 * of the header section is read, each field bounded, with mailauth's linear Received parser.
 */
import { isIP } from 'node:net';
import { parseReceived } from 'mailauth/lib/parse-received';

/** How far into the message the hop is looked for, and how much of one field is read. */
const HEADER_BYTES = 64 * 1024;
const FIELD_BYTES = 2048;
const RECEIVED_FIELDS = 5;

export interface ReceivedHop {
	clientIp: string | null;
	helo: string | null;
}

/** The first Received fields of the header section, unfolded, each cut at FIELD_BYTES. */
function topReceivedFields(raw: Buffer): string[] {
	const head = raw.subarray(0, HEADER_BYTES).toString('latin1');
	const fields: string[] = [];
	let current: string | null = null;
	let start = 0;
	while (start < head.length && fields.length < RECEIVED_FIELDS) {
		const newline = head.indexOf('\n', start);
		const end = newline < 0 ? head.length : newline;
		const line = head.slice(start, end).replace(/\r$/, '');
		start = end + 1;
		if (line === '') break;
		const folded = line[0] === ' ' || line[0] === '\t';
		if (folded && current !== null) {
			if (current.length < FIELD_BYTES) current = `${current} ${line.trim()}`.slice(0, FIELD_BYTES);
			continue;
		}
		if (current !== null) fields.push(current);
		current = /^received:/i.test(line) ? line.slice(0, FIELD_BYTES) : null;
		if (newline < 0) break;
	}
	if (current !== null && fields.length < RECEIVED_FIELDS) fields.push(current);
	return fields;
}

/** The address between square brackets in the from-clause's comment ("host [192.0.2.1]", "[IPv6:2001:db8::1]"). */
function bracketedIp(comment: string): string | null {
	const open = comment.indexOf('[');
	const close = open < 0 ? -1 : comment.indexOf(']', open);
	if (close < 0) return null;
	const inside = comment.slice(open + 1, close).replace(/^ipv6:/i, '');
	return isIP(inside) ? inside : null;
}

/** A HELO as a host name or an address literal: nothing that could open a comment or a literal of its own. */
const PLAIN_HELO = /^(?:\[[^\s[\]]+\]|[^\s()[\]<>"\\;,]+)$/;

const count = (text: string, char: string) => text.split(char).length - 1;

/**
 * The topmost hop from another host; nulls when none is readable. Fields the provider starts with anything but
 * "from" (a local pickup: "by" alone, a comment) are passed over, never the provider's own receipt: the sender's
 * HELO is written inside it, so its IP is believed only when the HELO is plain and the only other "[" in the field
 * is the provider's "(name [IP])" (a HELO such as `x([192.0.2.1])` or `x (x [192.0.2.1]) by y` leaves no IP).
 */
export function receivedHop(raw: Buffer): ReceivedHop {
	for (const field of topReceivedFields(raw)) {
		if (!/^received:\s*from\s/i.test(field)) continue;
		const parsed = parseReceived(field) as { from?: { value?: string; comment?: string } } | false;
		const helo = (parsed && parsed.from?.value?.trim()) || '';
		if (!parsed || !parsed.from || helo.length > 255 || !PLAIN_HELO.test(helo)) return { clientIp: null, helo: null };
		const brackets = helo.startsWith('[') ? 2 : 1;
		const clientIp = count(field, '[') === brackets ? bracketedIp(parsed.from.comment ?? '') : null;
		return { clientIp, helo };
	}
	return { clientIp: null, helo: null };
}
