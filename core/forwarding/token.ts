import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Version prefix: a token of another shape is never taken for ours. */
const PREFIX = 'hiv1';
const NONCE_BYTES = 32;
const BINDING_CHARS = 22;
const TOKEN = /^hiv1\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$/;

function binding(nonce: string, inboxAddress: string): string {
	// Keyed by the secret nonce: a token for one inbox cannot be re-labelled for another without the store's record.
	return createHmac('sha256', nonce).update(`hosted-inbox forwarding check\n${inboxAddress.trim().toLowerCase()}`).digest('base64url').slice(0, BINDING_CHARS);
}

/**
 * A new forwarding-check token for the inbox at this hosted address: 32 random bytes (base64url) plus an HMAC
 * binding it to the address, so the intake (which knows the address, not the store) can tell a token for this inbox
 * from any other header value, and a test message that reaches another inbox verifies nothing. The binding is no
 * secret (it is keyed by the token's own nonce): only a token a forwarding check of the inbox holds is a test.
 */
export function newForwardingToken(inboxAddress: string): string {
	const nonce = randomBytes(NONCE_BYTES).toString('base64url');
	return `${PREFIX}.${nonce}.${binding(nonce, inboxAddress)}`;
}

/** Whether the token is well-formed and was issued for this inbox address (the store then decides if it is still open). */
export function tokenBelongsTo(token: string, inboxAddress: string): boolean {
	const match = TOKEN.exec(token);
	if (!match) return false;
	const expected = Buffer.from(binding(match[1], inboxAddress));
	const given = Buffer.from(match[2]);
	return expected.length === given.length && timingSafeEqual(expected, given);
}
