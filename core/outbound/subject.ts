import { storedHeaderText } from './validate';

// Reply and forward prefixes as mail clients write them in many languages (Re, AW, SV, Antw, Fwd, WG, TR ...),
// with an optional counter ("Re[2]:", "Re(3):") and the full-width colon some East Asian clients use.
// No two whitespace runs touch, so a subject of blanks is read once, not once per blank.
// Sticky: matched where the last prefix ended, so any number of them is one pass over the subject.
const PREFIX = /\s*(re|aw|sv|vs|antw|antwort|ref|rif|odp|ynt|atb|vá|fw|fwd|wg|tr|rv|enc|doorst)\s*(?:(?:\[\d+\]|\(\d+\))\s*)?[:：]\s*/iy;

/**
 * The subject without its stacked reply/forward prefixes, however many. A forward prefix goes too: the reply goes
 * to the original sender, for whom the forward (by a colleague or a rule) never happened.
 */
export function baseSubject(subject: string): string {
	let at = 0;
	for (PREFIX.lastIndex = 0; PREFIX.test(subject); PREFIX.lastIndex = at) at = PREFIX.lastIndex;
	return subject.slice(at).trim();
}

/** "Re: <subject>" exactly once, whatever prefixes the conversation's (stored) subject carried. */
export function replySubject(subject: string): string {
	const base = baseSubject(storedHeaderText(subject));
	return base ? `Re: ${base}` : 'Re:';
}
