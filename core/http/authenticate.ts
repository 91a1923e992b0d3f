/**
 * Who may post: a bearer token or Basic password, an HMAC over the request (raw), Mailgun's signature. Every secret
 * is compared in constant time; a signed request is taken only while fresh (its replay is refused by the door).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { header, HttpRefusal, type Headers } from './body';

/** The headers of a raw post signed with the HMAC secret instead of a token. */
export const SIGNATURE_HEADERS = { timestamp: 'x-hosted-inbox-timestamp', signature: 'x-hosted-inbox-signature' } as const;

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

/** Equal secrets, in time independent of where they differ (both hashed first: equal lengths). */
export function sameSecret(given: string, expected: string): boolean {
	return timingSafeEqual(digest(given), digest(expected));
}

/** The credential a request presents: a Bearer token, or the password of Basic credentials (any user name). */
export function presentedCredential(headers: Headers): string | null {
	const value = header(headers, 'authorization')?.trim();
	if (!value) return null;
	const space = value.indexOf(' ');
	const scheme = space < 0 ? value.toLowerCase() : value.slice(0, space).toLowerCase();
	const rest = space < 0 ? '' : value.slice(space + 1).trim();
	if (scheme === 'bearer') return rest || null;
	if (scheme !== 'basic') return null;
	const decoded = Buffer.from(rest, 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	return colon < 0 ? null : decoded.slice(colon + 1);
}

/** The token (Bearer or Basic password) must be presented. */
export function checkCredential(headers: Headers, token: string | null | undefined): void {
	if (!token) throw new HttpRefusal('unauthorized', 'No token is set for this door');
	const presented = presentedCredential(headers);
	if (presented === null) throw new HttpRefusal('unauthorized', 'No credentials: send the token as a Bearer token or as the Basic password');
	if (!sameSecret(presented, token)) throw new HttpRefusal('unauthorized', 'The credentials do not match');
}

/** Hex HMAC-SHA256 of the parts, in order. */
export function hmacHex(secret: string, ...parts: Array<string | Buffer>): string {
	const hmac = createHmac('sha256', secret);
	for (const part of parts) hmac.update(part);
	return hmac.digest('hex');
}

/** A hex digest equal to the expected one, compared in constant time. */
export function sameHex(given: string, expected: string): boolean {
	if (given.length !== expected.length || !/^[0-9a-fA-F]+$/.test(given)) return false;
	return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'));
}

/** A Unix time (seconds) as the signer wrote it; within maxSkewSeconds of now, either way. */
export function checkFresh(timestamp: string, now: Date, maxSkewSeconds: number): Date {
	const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
	if (Number.isNaN(seconds)) throw new HttpRefusal('unauthorized', 'The signed timestamp is not a Unix time');
	if (Math.abs(now.getTime() / 1000 - seconds) > maxSkewSeconds) {
		throw new HttpRefusal('unauthorized', `The signed timestamp is more than ${maxSkewSeconds} s from now (a stale or replayed request, or a clock off)`);
	}
	return new Date(seconds * 1000);
}

/** The envelope headers a raw post's HMAC covers, in this order: all the door believes of a signed post. */
export const SIGNED_ENVELOPE_HEADERS = ['x-envelope-from', 'x-envelope-to', 'x-client-ip', 'x-client-helo'] as const;

/** What the HMAC covers before the body: the timestamp, then each envelope header's value ('' when absent), a line each. */
function signedHead(timestamp: string, headers: Headers): string {
	return `${[timestamp, ...SIGNED_ENVELOPE_HEADERS.map((name) => header(headers, name) ?? '')].join('\n')}\n`;
}

/**
 * The signature of a raw post: hex HMAC-SHA256(secret, `<timestamp>\n<X-Envelope-From>\n<X-Envelope-To>\n<X-Client-IP>\n
 * <X-Client-Helo>\n` + the body's bytes), sent with the timestamp (Unix seconds) in X-Hosted-Inbox-Timestamp and the
 * signature in X-Hosted-Inbox-Signature. `headers` has lower-case names, each sent once.
 */
export function rawSignature(secret: string, timestamp: string, headers: Headers, body: Buffer): string {
	return hmacHex(secret, signedHead(timestamp, headers), body);
}

/** A raw post's HMAC, started before the body is read (its timestamp checked first) and checked at its end. */
export function rawSignatureCheck(headers: Headers, secret: string, now: Date, maxSkewSeconds: number) {
	const timestamp = header(headers, SIGNATURE_HEADERS.timestamp)?.trim() ?? '';
	const signature = header(headers, SIGNATURE_HEADERS.signature)?.trim() ?? '';
	if (!timestamp || !signature) throw new HttpRefusal('unauthorized', 'No credentials: send a Bearer token, or X-Hosted-Inbox-Timestamp and X-Hosted-Inbox-Signature');
	const signedAt = checkFresh(timestamp, now, maxSkewSeconds);
	const hmac = createHmac('sha256', secret).update(signedHead(timestamp, headers));
	return {
		update: (chunk: Buffer) => void hmac.update(chunk),
		/** The signature is the replay token: it names this body at this time. */
		verify(): { token: string; expiresAt: Date } {
			if (!sameHex(signature, hmac.digest('hex'))) throw new HttpRefusal('unauthorized', 'The signature does not match the body');
			return { token: `hmac:${signature.toLowerCase()}`, expiresAt: new Date(signedAt.getTime() + maxSkewSeconds * 1000) };
		},
	};
}

/** Mailgun's signature: hex HMAC-SHA256(signing key, timestamp + token), fresh; its token is the replay token. */
export function checkMailgunSignature(fields: { timestamp: string; token: string; signature: string }, signingKey: string, now: Date, maxSkewSeconds: number) {
	const signedAt = checkFresh(fields.timestamp, now, maxSkewSeconds);
	if (!fields.token || fields.token.length > 200) throw new HttpRefusal('unauthorized', 'The Mailgun token is missing or too long');
	if (!sameHex(fields.signature, hmacHex(signingKey, fields.timestamp, fields.token))) throw new HttpRefusal('unauthorized', 'The Mailgun signature does not match');
	return { token: `mailgun:${fields.token}`, expiresAt: new Date(signedAt.getTime() + maxSkewSeconds * 1000) };
}
