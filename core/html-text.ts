import { htmlToText, type HtmlToTextOptions } from 'html-to-text';

/** HTML is turned into text this far (a longer HTML's rest has no text): bounds the conversion at a fraction of a second. */
const MAX_HTML_TO_TEXT = 512 * 1024;
/** As mailparser's own conversion: html-to-text's walk overflows the stack past about 2000 levels. */
const MAX_HTML_DEPTH = 1000;

/** Ends the text of an HTML that was longer than what is turned into text, so the cut is seen, not silent. */
export const HTML_TEXT_CUT = '[…] (the HTML goes on past 512 KB; its rest is in the HTML version only)';

/**
 * The text of HTML anyone may have written (a sender's, a workflow's), in bounded work: from its first 512 KB
 * (HTML_TEXT_CUT then ends it), unwrapped (html-to-text's wrapping is quadratic on a long run without spaces), at
 * most 1000 elements deep. The intake and the outbound each say how elements become text.
 */
export function boundedHtmlText(html: string, options: Omit<HtmlToTextOptions, 'wordwrap' | 'limits'>): string {
	const text = htmlToText(html.slice(0, MAX_HTML_TO_TEXT), { ...options, wordwrap: false, limits: { maxDepth: MAX_HTML_DEPTH } });
	return html.length > MAX_HTML_TO_TEXT ? `${text}\n\n${HTML_TEXT_CUT}` : text;
}
