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

/**
 * Forward headers sit near the top of a body: a reader sees at most this much of it, and each level of a chain
 * half as much as the level outside it (its headers open what it reads), so a whole chain reads at most twice this.
 */
const MAX_TEXT = 32 * 1024;
/** Lines are cut here: forward header lines are shorter (Yahoo's one-line header block opens with its From). */
const MAX_LINE = 160;
/** A whitespace run keeps at most two line breaks and this much of the indentation after them. */
const MAX_INDENT = 8;

/**
 * The part of a body the forward readers see, in one linear pass: at most `limit` characters, lines cut at
 * MAX_LINE, whitespace runs folded. email-forward-parser's regexes run on V8's backtracking engine (its RE2 option
 * is a native addon) and cost a power of the length of a whitespace run or a line: bounding both keeps them linear.
 */
function boundedText(text: string, limit: number): string {
	return text
		.slice(0, limit)
		.split(/\r\n|[\n\r\u2028\u2029]/)
		.map((line) => line.slice(0, MAX_LINE))
		.join('\n')
		.replace(/\s+/g, (run) => {
			const lastBreak = run.lastIndexOf('\n');
			if (lastBreak < 0) return run.slice(0, MAX_INDENT);
			const breaks = run.split('\n').length - 1;
			return '\n'.repeat(Math.min(breaks, 2)) + run.slice(lastBreak + 1, lastBreak + 1 + MAX_INDENT);
		});
}

/**
 * "From" in languages email-forward-parser lacks (it knows 22 locales); used to pick the author line of a
 * block opened by a separator when several header lines carry addresses.
 */
const FROM_LABELS = [
	'发件人', '寄件人', '寄件者', '差出人', '보낸사람', '보낸 사람', 'από', 'saatja', 'lähettäjä', 'feladó', 'frá', 'nuo', 'pošiljatelj',
	'pošiljalac', 'odesílatel', 'gönderen', 'từ', 'จาก', 'dari', 'daripada', 'מאת', 'من', 'از', 'प्रेषक', 'от', 'від', 'from',
];

/** "---------- 转发的邮件 ---------", "-------- Edastatud kiri --------": a dashed line with a few words inside. */
function isSeparator(line: string): boolean {
	const s = line.replace(/^[ \t>]+/, '').trimEnd();
	let start = 0;
	while (s[start] === '-') start++;
	let end = s.length;
	while (end > start && s[end - 1] === '-') end--;
	const words = s.slice(start, end).trim();
	return start >= 3 && s.length - end >= 3 && words.length > 0 && words.length <= 80;
}

/** "Label: value" (also "**Label**：value"); the label is searched for only near the start of the line. */
function headerLine(line: string): { label: string; value: string } | null {
	const colon = line.slice(0, 64).search(/[:：]/);
	if (colon < 0) return null;
	const label = line.slice(0, colon).replace(/^[ \t>]*\**/, '').trimEnd().replace(/(?<!\*)\*+$/, '').trim();
	const value = line.slice(colon + 1).trim();
	return label && label.length <= 40 && !label.includes('*') && value ? { label: label.toLowerCase(), value } : null;
}

/** Fallback for a forwarded block email-forward-parser does not know: separator + "Label: value" lines. */
function readSeparatedBlock(text: string): { address: string; name: string; body: string } | null {
	const lines = text.split('\n');
	for (let i = 0; i < lines.length; i++) {
		if (!isSeparator(lines[i])) continue;
		let first = i + 1;
		while (first < lines.length && !lines[first].trim()) first++;
		const headers: Array<{ label: string; value: string }> = [];
		let next = first;
		for (; next < lines.length && next < first + 12; next++) {
			const header = headerLine(lines[next]);
			if (!header) break;
			headers.push(header);
		}
		if (headers.length < 2) continue;
		const withAddress = headers
			.map((h) => ({ ...h, mailbox: parseAddresses(h.value.replace(/\[mailto:[^[\]]*\]/gi, ''))[0] }))
			.filter((h) => h.mailbox);
		const author = withAddress.find((h) => FROM_LABELS.includes(h.label)) ?? withAddress[0];
		if (!author) continue;
		return { address: author.mailbox.address, name: author.mailbox.name, body: lines.slice(next).join('\n') };
	}
	return null;
}

/**
 * The first manually forwarded block in a plain-text body: email-forward-parser first (many clients and
 * locales, a note typed above the block), a separator-and-labels reader where it falls short. A chain is read
 * one block at a time (the caller decides how deep, by who forwarded what); `depth` is this block's level in it.
 */
export function readForwardedBlock(text: string, subject: string, depth = 0): ForwardedBlock | null {
	const bounded = boundedText(text, Math.ceil(MAX_TEXT / 2 ** depth));
	const result = new EmailForwardParser().read(bounded, subject);
	const from = result.forwarded ? result.email.from : null;
	if (from && isEmailAddress(from.address)) {
		return { address: from.address.toLowerCase(), name: from.name ?? '', body: result.email.body ?? '', subject: result.email.subject ?? '', via: 'email-forward-parser' };
	}
	const block = readSeparatedBlock(bounded);
	return block ? { ...block, address: block.address.toLowerCase(), subject: '', via: 'forward-separator' } : null;
}
