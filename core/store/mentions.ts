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

/** A whole occurrence of the address among the matches starting at an index from `from` to `to`. */
function wholeIn(source: string, key: string, from: number, to: number): boolean {
	const search = pattern(key);
	search.lastIndex = from;
	for (let match = search.exec(source); match && match.index <= to; match = search.exec(source)) {
		if (isWhole(source, match.index, match[0].length)) return true;
	}
	return false;
}

/** True when the address (lower-cased key) occurs in the text as a whole address. */
export function mentions(source: string | null, key: string): boolean {
	return !!source && wholeIn(source, key, 0, source.length);
}

/**
 * The raw bytes, read a chunk at a time, name the address: compared byte for byte (latin1 keeps one character per
 * byte), ASCII case folded, across the chunks' boundaries too. Holds one chunk and the few characters before it.
 */
export async function rawMentions(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, key: string): Promise<boolean> {
	const needle = Buffer.from(key, 'utf8').toString('latin1');
	let window = '';
	// Matches starting before `from` in the window are judged already.
	let from = 0;
	for await (const chunk of chunks) {
		window += chunk.toString('latin1');
		// A match is judged once the two characters after it are here (isWhole looks at them).
		const last = window.length - needle.length - 2;
		if (last < from) continue;
		if (wholeIn(window, needle, from, last)) return true;
		// The character before the next start to judge stays, as its left boundary.
		window = window.slice(last);
		from = 1;
	}
	return wholeIn(window, needle, from, window.length);
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
