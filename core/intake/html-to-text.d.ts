/** The part of html-to-text (mailparser's HTML-to-text converter) the intake uses to read HTML; it ships no typings. */
declare module 'html-to-text' {
	export interface SelectorDefinition {
		selector: string;
		format?: string;
		options?: { leadingLineBreaks?: number; trailingLineBreaks?: number };
	}
	export interface HtmlToTextOptions {
		wordwrap?: number | false | null;
		limits?: { maxDepth?: number; maxInputLength?: number };
		selectors?: SelectorDefinition[];
	}
	export function htmlToText(html: string, options?: HtmlToTextOptions): string;
}
