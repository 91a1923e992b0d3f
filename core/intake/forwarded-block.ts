import EmailForwardParser from 'email-forward-parser';

import { isEmailAddress, parseAddresses } from './headers';

export interface ForwardedAuthor {
	address: string;
	name: string;
	/** 1 for a plain forward, more for a forward of a forward (the innermost author is kept). */
	depth: number;
	/** Which reader recognised the outermost block. */
	via: 'email-forward-parser' | 'forward-separator';
}

/** A chain deeper than this is not followed further (bounded work on hostile input). */
const MAX_CHAIN = 10;
/** Forward headers sit near the top; without RE2 the parser's regexes must not run over megabytes. */
const MAX_TEXT = 256 * 1024;

/**
 * "From" in languages email-forward-parser lacks (it knows 22 locales); used to pick the author line of a
 * block opened by a separator when several header lines carry addresses.
 */
const FROM_LABELS = [
	'发件人', '寄件人', '寄件者', '差出人', '보낸사람', '보낸 사람', 'από', 'saatja', 'lähettäjä', 'feladó', 'frá', 'nuo', 'pošiljatelj',
	'pošiljalac', 'odesílatel', 'gönderen', 'từ', 'จาก', 'dari', 'daripada', 'מאת', 'من', 'از', 'प्रेषक', 'от', 'від', 'from',
];

/** "---------- 转发的邮件 ---------", "-------- Edastatud kiri --------": a dashed line with words inside. */
const SEPARATOR = /^[ \t>]*-{3,}[ \t]*[^\s-][^\n]{0,80}?[ \t]*-{3,}[ \t]*$/gm;
const HEADER_LINE = /^[ \t>]*\**([^:：\n*]{1,40}?)\**[ \t]*[:：][ \t]*(.+)$/;

/** Fallback for a forwarded block email-forward-parser does not know: separator + "Label: value" lines. */
function readSeparatedBlock(text: string): { address: string; name: string; body: string } | null {
	for (const match of text.matchAll(SEPARATOR)) {
		const after = text.slice((match.index ?? 0) + match[0].length).replace(/^\s*\n/, '');
		const lines = after.split('\n');
		const headers: Array<{ label: string; value: string }> = [];
		let consumed = 0;
		for (const line of lines.slice(0, 12)) {
			const header = HEADER_LINE.exec(line.replace(/\r$/, ''));
			if (!header) break;
			headers.push({ label: header[1].trim().toLowerCase(), value: header[2].trim() });
			consumed++;
		}
		if (headers.length < 2) continue;
		const withAddress = headers
			.map((h) => ({ ...h, mailbox: parseAddresses(h.value.replace(/\[mailto:[^\]]*\]/gi, ''))[0] }))
			.filter((h) => h.mailbox);
		const author = withAddress.find((h) => FROM_LABELS.includes(h.label)) ?? withAddress[0];
		if (!author) continue;
		return { address: author.mailbox.address, name: author.mailbox.name, body: lines.slice(consumed).join('\n') };
	}
	return null;
}

function readOnce(parser: EmailForwardParser, text: string, subject: string) {
	const result = parser.read(text, subject);
	const from = result.forwarded ? result.email.from : null;
	if (from && isEmailAddress(from.address)) {
		return { address: from.address.toLowerCase(), name: from.name ?? '', body: result.email.body ?? '', subject: result.email.subject ?? '', via: 'email-forward-parser' as const };
	}
	const block = readSeparatedBlock(text);
	return block ? { ...block, subject: '', via: 'forward-separator' as const } : null;
}

/**
 * The author of a manually forwarded message in a plain-text body: email-forward-parser first (many clients
 * and locales, a note typed above the block), a separator-and-labels reader where it falls short, and the
 * same again inside the forwarded body so a chain yields its innermost author.
 */
export function findForwardedAuthor(text: string, subject: string): ForwardedAuthor | null {
	const parser = new EmailForwardParser();
	const outer = readOnce(parser, text.slice(0, MAX_TEXT), subject);
	if (!outer) return null;
	let current = outer;
	let depth = 1;
	while (depth < MAX_CHAIN) {
		const inner = readOnce(parser, current.body, current.subject);
		if (!inner) break;
		current = inner;
		depth++;
	}
	return { address: current.address, name: current.name, depth, via: outer.via };
}
