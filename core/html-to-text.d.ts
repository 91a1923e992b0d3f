/** The part of html-to-text (mailparser's HTML-to-text converter) core/html-text.ts uses; it ships no typings. */
declare module 'html-to-text' {
	export interface SelectorDefinition {
		selector: string;
		format?: string;
		options?: {
			leadingLineBreaks?: number;
			trailingLineBreaks?: number;
			hideLinkHrefIfSameAsText?: boolean;
			linkBrackets?: [string, string] | false;
			itemPrefix?: string;
			uppercase?: boolean;
		};
	}
	export interface BlockTextBuilder {
		addInline(text: string): void;
	}
	export type Formatter = (elem: { attribs?: Record<string, string> }, walk: unknown, builder: BlockTextBuilder, options: unknown) => void;
	export interface HtmlToTextOptions {
		wordwrap?: number | false | null;
		limits?: { maxDepth?: number; maxInputLength?: number };
		formatters?: Record<string, Formatter>;
		selectors?: SelectorDefinition[];
	}
	export function htmlToText(html: string, options?: HtmlToTextOptions): string;
}
