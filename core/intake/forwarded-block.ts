import EmailForwardParser from 'email-forward-parser';

import { isEmailAddress, parseAddresses } from './headers';

/** One forwarded block: who wrote the message inside it, and what it says (where a deeper block may sit). */
export interface ForwardedBlock {
	address: string;
	name: string;
	body: string;
	subject: string;
	/** Which reader recognised the block. */
	via: 'email-forward-parser' | 'forward-separator';
}

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

/**
 * The first manually forwarded block in a plain-text body: email-forward-parser first (many clients and
 * locales, a note typed above the block), a separator-and-labels reader where it falls short. A chain is read
 * one block at a time (the caller decides how deep, by who forwarded what).
 */
export function readForwardedBlock(text: string, subject: string): ForwardedBlock | null {
	const bounded = text.slice(0, MAX_TEXT);
	const result = new EmailForwardParser().read(bounded, subject);
	const from = result.forwarded ? result.email.from : null;
	if (from && isEmailAddress(from.address)) {
		return { address: from.address.toLowerCase(), name: from.name ?? '', body: result.email.body ?? '', subject: result.email.subject ?? '', via: 'email-forward-parser' };
	}
	const block = readSeparatedBlock(bounded);
	return block ? { ...block, address: block.address.toLowerCase(), subject: '', via: 'forward-separator' } : null;
}
