/**
 * Where an email address occurs in stored text or raw bytes, for erasure. Case-insensitive, and only as the whole
 * address: erasing ann@example.com leaves joann@example.com, j.ann@example.com and ann@example.com.au alone.
 * Work is linear in the text: one literal pattern, boundaries checked by looking at one or two characters.
 */

/** A character that continues the local part leftwards (the common ones; rarer atext such as `=` or `/` reads as a separator, as in `?email=ann@…`). */
const LOCAL_CHAR = /[A-Za-z0-9._+-]/;
const DOMAIN_CHAR = /[A-Za-z0-9-]/;

function escapeRegExp(literal: string): string {
	return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function pattern(key: string): RegExp {
	return new RegExp(escapeRegExp(key), 'gi');
}

function isWhole(source: string, at: number, length: number): boolean {
	const before = source[at - 1];
	const after = source[at + length];
	if (before !== undefined && LOCAL_CHAR.test(before)) return false;
	if (after === undefined) return true;
	if (DOMAIN_CHAR.test(after)) return false;
	// A dot followed by a label makes it a longer domain; a dot ending a sentence does not.
	return !(after === '.' && DOMAIN_CHAR.test(source[at + length + 1] ?? ''));
}

/** True when the address (lower-cased key) occurs in the text as a whole address. */
export function mentions(source: string | null, key: string): boolean {
	if (!source) return false;
	const search = pattern(key);
	for (let match = search.exec(source); match; match = search.exec(source)) {
		if (isWhole(source, match.index, match[0].length)) return true;
	}
	return false;
}

/** The raw bytes name the address: compared byte for byte (latin1 keeps one character per byte), ASCII case folded. */
export function rawMentions(raw: Buffer, key: string): boolean {
	return mentions(raw.toString('latin1'), Buffer.from(key, 'utf8').toString('latin1'));
}

export const ERASED = '[erased]';

/** The text with every whole occurrence of the address replaced by `[erased]`. */
export function redact(source: string, key: string): string {
	return source.replace(pattern(key), (found: string, at: number) => (isWhole(source, at, found.length) ? ERASED : found));
}

/** A LIKE pattern (ESCAPE '\') that finds candidate rows in SQL; mentions() then decides. */
export function likeAny(key: string): string {
	return `%${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
