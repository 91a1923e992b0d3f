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
	// A CR ending a piece waits for the next: dropped when an LF starts it.
	let carriesCr = false;
	for await (const piece of body) for (let at = 0; at < piece.length; at += HASHED_AT_ONCE) hashPiece(piece.subarray(at, at + HASHED_AT_ONCE));
	// A CR ending the body stays (no LF follows it), and with it the line feeds before it.
	if (carriesCr) {
		hashLineFeeds(hash, heldLineFeeds);
		hash.update('\r');
	}
	hash.update('\u0000');
	return hash.digest('hex');

	function hashPiece(piece: Buffer): void {
		// The body read as latin1 text and hashed as UTF-8 (the hashes stored so far): a few native calls a piece.
		let text = piece.toString('latin1');
		if (carriesCr && text.charCodeAt(0) !== LF) text = `\r${text}`;
		carriesCr = text.charCodeAt(text.length - 1) === CR;
		const lines = (carriesCr ? text.slice(0, -1) : text).replaceAll('\r\n', '\n');
		let end = lines.length;
		while (end > 0 && lines.charCodeAt(end - 1) === LF) end--;
		if (end === 0) {
			heldLineFeeds += lines.length;
			return;
		}
		hashLineFeeds(hash, heldLineFeeds);
		hash.update(end === lines.length ? lines : lines.slice(0, end), 'utf8');
		heldLineFeeds = lines.length - end;
	}
}

/** The most of a piece turned into text at once: a whole message handed over in one buffer stays a few strings of this size. */
const HASHED_AT_ONCE = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

function hashLineFeeds(hash: Hash, count: number): void {
	for (let left = count; left > 0; left -= 64 * 1024) hash.update(Buffer.alloc(Math.min(left, 64 * 1024), LF));
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
