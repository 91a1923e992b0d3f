import { isAscii } from 'node:buffer';
import { createHash, randomUUID, type Hash } from 'node:crypto';


/**
 * The one Message-ID normaliser, for the intake's thread keys and the store alike: "<Local@Example.COM>" ->
 * "Local@example.com". Brackets and surrounding space go; the domain part is case-insensitive, the local part is
 * kept as written. null when nothing usable is left (empty, or space inside the id).
 */
export function normalizeMessageId(value: string): string | null {
	// (?<!>) starts the closing run at its first ">": a long run is scanned once, not once per ">".
	const bare = value.trim().replace(/^<+/, '').replace(/(?<!>)>+$/, '').trim();
	if (!bare || /\s/.test(bare)) return null;
	const at = bare.lastIndexOf('@');
	return at > 0 ? `${bare.slice(0, at)}@${bare.slice(at + 1).toLowerCase()}` : bare;
}

/** Domain of the ids the store derives for messages that came without one. */
export const CONTENT_ID_DOMAIN = 'content.hosted-inbox.invalid';

function sha256(parts: Array<string | Buffer>): string {
	const hash = createHash('sha256');
	for (const part of parts) {
		hash.update(part);
		hash.update('\u0000');
	}
	return hash.digest('hex');
}

/**
 * What tells a redelivery of a message from another message reusing its Message-ID: SHA-256 of the raw body
 * (everything after the top-level header section of the raw message). An SMTP retry or an IMAP re-fetch delivers the same bytes, and
 * a relay or forwarder on the way adds or rewrites headers (Received, ARC, DKIM-Signature, X-Forwarded-For) but
 * not the body, so the body alone is what every copy of one message shares. Line endings (CRLF or LF, as a file
 * or a mailbox stores them) and trailing blank lines do not count, as in DKIM's simple body canonicalisation.
 * Read as a stream, a piece at a time: memory is one piece, however large the body.
 */
export async function bodyHash(body: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<string> {
	const hash = createHash('sha256');
	// Line feeds seen but not yet hashed: trailing ones never are.
	let heldLineFeeds = 0;
	let carriesCr = false;
	// Each piece converted into the same buffer (the hash copies what it is given): no garbage per piece.
	let scratch = Buffer.alloc(0);
	for await (const piece of body) {
		// The bytes of what the body read as latin1 text gives as UTF-8 (the hashes stored so far): the piece itself
		// when it is ASCII, as mail nearly always is.
		const text = isAscii(piece) ? piece : Buffer.from(piece.toString('latin1'), 'utf8');
		if (scratch.length < text.length + 1) scratch = Buffer.allocUnsafe(text.length + 1);
		const converted = crlfAsLf(text, carriesCr, scratch);
		carriesCr = converted.carriesCr;
		const { lines } = converted;
		let end = lines.length;
		while (end > 0 && lines[end - 1] === LF) end--;
		if (end === 0) {
			heldLineFeeds += lines.length;
			continue;
		}
		hashLineFeeds(hash, heldLineFeeds);
		hash.update(lines.subarray(0, end));
		heldLineFeeds = lines.length - end;
	}
	// A CR ending the body stays (no LF follows it), and with it the line feeds before it.
	if (carriesCr) {
		hashLineFeeds(hash, heldLineFeeds);
		hash.update(CR_BYTE);
	}
	hash.update('\u0000');
	return hash.digest('hex');
}

const LF = 0x0a;
const CR = 0x0d;
const CR_BYTE = Buffer.from([CR]);

function hashLineFeeds(hash: Hash, count: number): void {
	for (let left = count; left > 0; left -= 64 * 1024) hash.update(Buffer.alloc(Math.min(left, 64 * 1024), LF));
}

/**
 * CRLF as LF into `lines` (at least one byte longer than `text`), a CR kept unless an LF follows: the runs between
 * CRs copied natively. A CR ending the piece is carried to the next (`carriesCr`), which drops it when it starts with an LF.
 */
function crlfAsLf(text: Buffer, carriedCr: boolean, lines: Buffer): { lines: Buffer; carriesCr: boolean } {
	if (!text.length) return { lines: text, carriesCr: carriedCr };
	let length = 0;
	if (carriedCr && text[0] !== LF) lines[length++] = CR;
	for (let start = 0; start < text.length; ) {
		const cr = text.indexOf(CR, start);
		if (cr < 0) {
			length += text.copy(lines, length, start);
			break;
		}
		length += text.copy(lines, length, start, cr);
		if (cr === text.length - 1) return { lines: lines.subarray(0, length), carriesCr: true };
		if (text[cr + 1] !== LF) lines[length++] = CR;
		start = cr + 1;
	}
	return { lines: lines.subarray(0, length), carriesCr: false };
}

/** The content hash of a message known only by its recorded fields (no raw bytes), e.g. one we sent. */
export function fieldsHash(input: { from: string; to: string[]; cc: string[]; subject: string; text: string; html: string | null }): string {
	return sha256([input.from, input.to.join(','), input.cc.join(','), input.subject, input.text, input.html ?? '']);
}

/**
 * A stable Message-ID for a message that has none, from what a replay carries unchanged, so a replayed copy is
 * recognised as the same message. The receipt time is left out: a re-fetch or re-delivery would change it.
 */
export function contentMessageId(input: Parameters<typeof fieldsHash>[0]): string {
	return `${fieldsHash(input).slice(0, 40)}@${CONTENT_ID_DOMAIN}`;
}

/** Prefix of the Message-IDs our outbound mail carries, so mail that comes back is recognised as ours. */
export const OUTBOUND_ID_PREFIX = 'hosted-inbox.';

/** A new Message-ID (without brackets) for a message we send from `domain`. */
export function newOutboundMessageId(domain: string): string {
	return `${OUTBOUND_ID_PREFIX}${randomUUID()}@${domain.toLowerCase()}`;
}

export function isOwnMessageId(messageId: string): boolean {
	return (normalizeMessageId(messageId) ?? '').startsWith(OUTBOUND_ID_PREFIX);
}
