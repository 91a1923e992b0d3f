import { randomInt } from 'node:crypto';

import { htmlToText, type HtmlToTextOptions } from 'html-to-text';

/** HTML is turned into text this far (a longer HTML's rest has no text): bounds the conversion at a fraction of a second. */
const MAX_HTML_TO_TEXT = 512 * 1024;
/** As mailparser's own conversion: html-to-text's walk overflows the stack past about 2000 levels. */
const MAX_HTML_DEPTH = 1000;

/** Ends the text of an HTML that was longer than what is turned into text, so the cut is seen, not silent. */
export const HTML_TEXT_CUT = '[…] (the HTML goes on past 512 KB; its rest is in the HTML version only)';
/** Ends the text of an HTML nested deeper than what is turned into text; each place cut reads "[…]". */
export const HTML_DEPTH_CUT = '[…] (the HTML nests deeper than 1,000 elements; what lies deeper is in the HTML version only)';

/**
 * The text of HTML anyone may have written (a sender's, a workflow's), in bounded work: from its first 512 KB
 * (HTML_TEXT_CUT then ends it), unwrapped (html-to-text's wrapping is quadratic on a long run without spaces), at
 * most 1000 elements deep (HTML_DEPTH_CUT then ends it). The intake and the outbound each say how elements become text.
 */
export function boundedHtmlText(html: string, options: Omit<HtmlToTextOptions, 'wordwrap' | 'limits'>): string {
	// html-to-text writes its `limits.ellipsis` (documented, missing from its types) where it stops going deeper: here
	// a mark the HTML cannot hold, found afterwards; digits, as a heading's capitals leave it the same.
	const deeper = `\u{E000}${randomInt(2 ** 47)}\u{E000}`;
	const limits = { maxDepth: MAX_HTML_DEPTH, ellipsis: deeper };
	let text = htmlToText(html.slice(0, MAX_HTML_TO_TEXT), { ...options, wordwrap: false, limits });
	const notes: string[] = [];
	if (text.includes(deeper)) {
		text = text.split(deeper).join('[…]');
		notes.push(HTML_DEPTH_CUT);
	}
	if (html.length > MAX_HTML_TO_TEXT) notes.push(HTML_TEXT_CUT);
	return notes.length ? `${text}\n\n${notes.join('\n')}` : text;
}
