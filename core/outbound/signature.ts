import { boundedHtmlText } from '../html-text';
import { OutboundError } from './errors';

/** The personalisation tokens of the team signature, filled from the sending agent's record. */
export const SIGNATURE_TOKENS = ['full_name', 'first_name'] as const;
export type SignatureToken = (typeof SIGNATURE_TOKENS)[number];

// The name between the braces is trimmed in code: blanks on both sides of a lazy group made a run of them cubic.
const TOKEN = /\{\{([^{}]*)\}\}/g;

export interface RenderedSignature {
	html: string;
	text: string;
}

/** Every token the signature uses that we cannot fill; checked before anything is sent. */
export function unknownSignatureTokens(template: string): string[] {
	const unknown = new Set<string>();
	for (const match of template.matchAll(TOKEN)) {
		if (!(SIGNATURE_TOKENS as readonly string[]).includes(match[1].trim())) unknown.add(match[0]);
	}
	return [...unknown];
}

/** Fills the tokens (HTML-escaped) and derives the plain-text part; an unknown token is an error, never a literal. */
export function renderSignature(template: string, agent: { fullName: string; firstName: string }): RenderedSignature {
	const unknown = unknownSignatureTokens(template);
	if (unknown.length) {
		throw new OutboundError(
			'unknown-signature-token',
			`The team signature uses unknown token${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known tokens: ${SIGNATURE_TOKENS.map((t) => `{{${t}}}`).join(', ')}`,
		);
	}
	const fullName = agent.fullName.trim();
	const values: Record<SignatureToken, string> = {
		full_name: fullName,
		first_name: agent.firstName.trim() || fullName.split(/\s+/)[0] || '',
	};
	const html = template.replace(TOKEN, (_m, token: string) => escapeHtml(values[token.trim() as SignatureToken]));
	return { html, text: htmlToText(html) };
}

export function escapeHtml(value: string): string {
	return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * The plain-text part of a signature or body written in HTML (an agent's, or a customer's quoted): by html-to-text,
 * unwrapped (its wrapping is quadratic on a long run without spaces), so it stays linear on any HTML a workflow hands
 * over. Block elements and <br> become line breaks, links keep their address, images their alt text.
 */
export function htmlToText(html: string): string {
	return boundedHtmlText(html, {
		formatters: { altText: (elem, _walk, builder) => builder.addInline(elem.attribs?.alt ?? '') },
		selectors: [
			{ selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['<', '>'] } },
			{ selector: 'img', format: 'altText' },
			{ selector: 'ul', options: { itemPrefix: '- ' } },
			...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
			{ selector: 'table', format: 'block' },
			{ selector: 'tr', format: 'block' },
		],
	})
		.replace(/\n{3,}/g, '\n\n')
		.trim();
}
