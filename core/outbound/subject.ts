import { storedHeaderText } from './validate';

// Reply and forward prefixes as mail clients write them in many languages (Re, AW, SV, Antw, Fwd, WG, TR ...),
// with an optional counter ("Re[2]:", "Re(3):") and the full-width colon some East Asian clients use.
// No two whitespace runs touch, so a subject of blanks is read once, not once per blank.
const PREFIX = /^\s*(re|aw|sv|vs|antw|antwort|ref|rif|odp|ynt|atb|vá|fw|fwd|wg|tr|rv|enc|doorst)\s*(?:(?:\[\d+\]|\(\d+\))\s*)?[:：]\s*/i;

/**
 * The subject without its stacked reply/forward prefixes. A forward prefix goes too: the reply goes to the
 * original sender, for whom the forward (by a colleague or a rule) never happened.
 */
export function baseSubject(subject: string): string {
	let rest = subject;
	for (let i = 0; i < 50; i++) {
		const next = rest.replace(PREFIX, '');
		if (next === rest) break;
		rest = next;
	}
	return rest.trim();
}

/** "Re: <subject>" exactly once, whatever prefixes the conversation's (stored) subject carried. */
export function replySubject(subject: string): string {
	const base = baseSubject(storedHeaderText(subject));
	return base ? `Re: ${base}` : 'Re:';
}
