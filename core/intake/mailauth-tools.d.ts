/** The parts of mailauth's own helpers the intake and the outbound signer reuse (mailauth ships no typings for them). */
declare module 'mailauth/lib/tools' {
	/** Organisational-domain alignment, the rule mailauth's DMARC check applies; the aligned entry or false. */
	export function getAlignment(fromDomain: string, domains: string[]): { domain: string } | false;
	/** Splits a header section into fields the way mailauth's DKIM verifier reads it (the key lower-cased, casedKey as written). */
	export function parseHeaders(section: Buffer): { parsed: Array<{ key: string | null; casedKey: string; line: Buffer }> };
	/** Reads the tags of a DKIM-Signature field. */
	export function parseDkimHeaders(line: Buffer | string): { parsed?: Record<string, { value?: string } | undefined> };
}

declare module 'mailauth/lib/parse-received' {
	/** Reads a Received field into its clauses (from, by, with, id, for), each with its value and comment. */
	export function parseReceived(field: Buffer | string): Record<string, { value?: string; comment?: string } | string> | false;
}
