/**
 * DKIM signing of our outbound mail (RFC 6376, rsa-sha256, relaxed/relaxed), with the header fields a reader sees
 * signed once more than they occur (§8.15, "oversigning"): a copy of a signed reply with a second Subject, an added
 * Reply-To or Cc, or any other of these fields prepended no longer verifies. mailauth's signer lists each field it
 * finds once, and one it does not find not at all, so it is not used here; mailauth verifies what this signs.
 */
import { createHash, sign } from 'node:crypto';
import { parseHeaders } from 'mailauth/lib/tools';

export interface DkimKey {
	domain: string;
	selector: string;
	/** PEM. */
	privateKey: string;
}

/** The fields a mail client shows or acts on: each signed as often as it occurs, plus once. */
const SIGNED_FIELDS = [
	'from',
	'sender',
	'reply-to',
	'to',
	'cc',
	'subject',
	'date',
	'message-id',
	'in-reply-to',
	'references',
	'mime-version',
	'content-type',
	'content-transfer-encoding',
	'auto-submitted',
	'list-id',
	'list-unsubscribe',
	'list-unsubscribe-post',
];

const CRLF = '\r\n';

/** A header field's relaxed form (§3.4.2): name lower-cased, value unfolded, blank runs one space, none at the ends (only SP and TAB are blanks). */
function relaxedField(name: string, value: string): string {
	return `${name.toLowerCase()}:${value.replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')}${CRLF}`;
}

/** SHA-256 of the body's relaxed form (§3.4.4): blank runs one space, none at line ends, no empty lines at the end. */
function relaxedBodyHash(body: string): string {
	let text = body.replace(/[ \t]+/g, ' ').replace(/ \r\n/g, CRLF);
	if (text.endsWith(' ')) text = text.slice(0, -1);
	let end = text.length;
	while (end >= 2 && text.startsWith(CRLF, end - 2)) end -= 2;
	text = text.slice(0, end);
	if (text.length) text += CRLF;
	return createHash('sha256').update(text, 'latin1').digest('base64');
}

/** `raw` (CRLF line ends, as nodemailer composes) with a DKIM-Signature field of `key` in front. */
export function dkimSigned(raw: Buffer, key: DkimKey, signedAt: Date): Buffer {
	// latin1: one character a byte, so the bytes hashed and signed are the bytes sent.
	const message = raw.toString('latin1');
	const split = message.indexOf(`${CRLF}${CRLF}`);
	const section = split < 0 ? message : message.slice(0, split + 2);
	const body = split < 0 ? '' : message.slice(split + 4);
	// The fields as mailauth's verifier splits them.
	const fields = parseHeaders(Buffer.from(section, 'latin1')).parsed;
	// Each name as often as it occurs, plus once; the occurrences are hashed from the bottom up, a name listed once
	// more than it occurs adds nothing to the hash (§5.4.2), so a field added later breaks the signature.
	const names: string[] = [];
	let hashed = '';
	for (const name of SIGNED_FIELDS) {
		for (const { casedKey, line } of fields.filter((field) => field.key === name).reverse()) {
			const field = line.toString('latin1');
			names.push(casedKey);
			hashed += relaxedField(casedKey, field.slice(field.indexOf(':') + 1));
		}
		names.push(name);
	}
	const tags = [
		'v=1',
		'a=rsa-sha256',
		'c=relaxed/relaxed',
		`d=${key.domain}`,
		`s=${key.selector}`,
		`t=${Math.floor(signedAt.getTime() / 1000)}`,
		`bh=${relaxedBodyHash(body)}`,
		`h=${names.join(':')}`,
		'b=',
	];
	const unsigned = foldTags(tags);
	hashed += relaxedField('DKIM-Signature', unsigned).slice(0, -CRLF.length);
	const signature = sign('sha256', Buffer.from(hashed, 'latin1'), key.privateKey).toString('base64');
	const field = `DKIM-Signature:${unsigned}${signature.replace(/.{1,72}/g, (part, at: number) => (at ? `${CRLF} ${part}` : part))}${CRLF}`;
	return Buffer.concat([Buffer.from(field, 'latin1'), raw]);
}

/** The tags after "DKIM-Signature:", a line of at most 78 characters each (folded before a tag, or inside h= at a colon). */
function foldTags(tags: string[]): string {
	let out = '';
	let line = 'DKIM-Signature:'.length;
	for (const [i, tag] of tags.entries()) {
		const piece = ` ${tag}${i < tags.length - 1 ? ';' : ''}`;
		for (const [j, part] of piece.split(/(?<=:)/).entries()) {
			if (line + part.length > 78 && line > 1) {
				out += `${CRLF}${j ? ' ' : ''}`;
				line = j ? 1 : 0;
			}
			out += part;
			line += part.length;
		}
	}
	return out;
}
