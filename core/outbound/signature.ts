import { OutboundError } from './errors';

/** The personalisation tokens of the team signature, filled from the sending agent's record. */
export const SIGNATURE_TOKENS = ['full_name', 'first_name'] as const;
export type SignatureToken = (typeof SIGNATURE_TOKENS)[number];

const TOKEN = /\{\{\s*([^{}]*?)\s*\}\}/g;

export interface RenderedSignature {
	html: string;
	text: string;
}

/** Every token the signature uses that we cannot fill; checked before anything is sent. */
export function unknownSignatureTokens(template: string): string[] {
	const unknown = new Set<string>();
	for (const match of template.matchAll(TOKEN)) {
		if (!(SIGNATURE_TOKENS as readonly string[]).includes(match[1])) unknown.add(match[0]);
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
	const html = template.replace(TOKEN, (_m, token: SignatureToken) => escapeHtml(values[token]));
	return { html, text: htmlToText(html) };
}

export function escapeHtml(value: string): string {
	return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', middot: '·', ndash: '–', mdash: '—' };

function decodeEntities(text: string): string {
	return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, body: string) => {
		if (body[0] === '#') {
			const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
			return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
		}
		return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
	});
}

/**
 * The plain-text part of a signature or body written in the simple editor's HTML:
 * block elements and <br> become line breaks, links keep their address, images their alt text.
 */
export function htmlToText(html: string): string {
	const text = html
		.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, '')
		.replace(/<!--[\s\S]*?-->/g, '')
		.replace(/<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>([\s\S]*?)<\/a\s*>/gi, (_m, _q, href: string, inner: string) => {
			const label = inner.replace(/<[^>]*>/g, '').trim();
			const target = decodeEntities(href).replace(/^mailto:/i, '');
			// Angle brackets stand in as \u0001/\u0002 until the remaining tags are gone.
			return !label || decodeEntities(label) === target ? target : `${label} \u0001${target}\u0002`;
		})
		.replace(/<img\b[^>]*?\balt\s*=\s*(["'])(.*?)\1[^>]*>/gi, '$2')
		.replace(/<br\s*\/?>/gi, '\n')
		.replace(/<li\b[^>]*>/gi, '\n- ')
		.replace(/<\/?(p|div|h[1-6]|ul|ol|table|tr|blockquote|section|header|footer)\b[^>]*>/gi, '\n')
		.replace(/<[^>]*>/g, '');
	return decodeEntities(text)
		.split('\u0001')
		.join('<')
		.split('\u0002')
		.join('>')
		.split('\n')
		.map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
		.join('\n')
		.replace(/\n{3,}/g, '\n\n')
		.trim();
}
