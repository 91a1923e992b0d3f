/**
 * Renders a forward as each client writes it, in plain text and in HTML, from a template of templates.ts.
 * The layouts (what surrounds the labels) are each client's: see README.md for where each comes from.
 */
import type { Field, Template } from './templates';

export interface Person {
	name: string;
	/** null: a forwarded From line carrying only a name. */
	address: string | null;
}

/** One message as a forward shows it: a forward's text and HTML may hold another forward. */
export interface Message {
	from: Person;
	to: Person;
	cc: Person | null;
	subject: string;
	text: string;
	html: string;
}

/** A fixed date: the reader never needs it, and a fixed value keeps the corpus the same on every run. */
const DATE = 'Mon, 3 Mar 2025 10:00:00 +0100';
const PROTON_DATE = 'Monday, March 3rd, 2025 at 10:00';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function person(p: Person, template: Template): string {
	if (!p.address) return p.name;
	// Outlook desktop's "-----Original Message-----" block writes "Name [mailto:address]".
	if (template.client === 'outlook-original-message') return `${p.name} [mailto:${p.address}]`;
	return `${p.name} <${p.address}>`;
}

function valueOf(field: Field, message: Message, template: Template): string | null {
	switch (field) {
		case 'from':
			return person(message.from, template);
		case 'to':
			return person(message.to, template);
		case 'cc':
			return message.cc ? person(message.cc, template) : null;
		case 'subject':
			return message.subject;
		case 'date':
			return template.client === 'proton' ? PROTON_DATE : DATE;
	}
}

/** The header lines the template prints for this message, as [label, value, field]. */
function headerLines(template: Template, message: Message): Array<[string, string, Field]> {
	return template.fields.flatMap(({ field, label }) => {
		const value = valueOf(field, message, template);
		return value === null ? [] : [[label, value, field] as [string, string, Field]];
	});
}

const quote = (text: string) =>
	text
		.split('\n')
		.map((line) => (line ? `> ${line}` : '>'))
		.join('\n');

/** The plain-text forward block (what follows the forwarder's note). */
export function forwardText(template: Template, message: Message): string {
	const lines = headerLines(template, message).map(([label, value]) => `${label}${value}`);
	const sep = template.separator;
	switch (template.client) {
		case 'apple-mail':
			// The forwarded message sits in a blockquote type=cite: its plain text quotes every line.
			return quote([sep, '', ...lines, '', message.text].join('\n'));
		case 'proton':
			// generatePlaintextBlockquote: the header, then the message quoted.
			return [sep, ...lines, '', quote(message.text)].join('\n');
		case 'yahoo':
			// Yahoo's text part runs the header lines together after the separator (crisp's yahoo_*_body).
			return `   ${sep} ${lines.join('')}\n ${message.text}`;
		case 'thunderbird':
			return [sep, ...lines, '', '', '', message.text].join('\n');
		case 'outlook-desktop':
			return ['', '', ...lines, '', message.text].join('\n');
		case 'k9':
			// TextQuoteCreator opens the block with a line break.
			return ['', sep, ...lines, '', message.text].join('\n');
		default:
			return [...(sep ? [sep] : []), ...lines, '', message.text].join('\n');
	}
}

/** `<b>Label</b> value` (Outlook, K-9): the label as written, its trailing spaces moved out of the bold. */
const boldLine = (label: string, value: string) => `<b>${escapeHtml(label.trimEnd())}</b> ${escapeHtml(value)}`;

/** The HTML forward block (what follows the forwarder's note). */
export function forwardHtml(template: Template, message: Message): string {
	const lines = headerLines(template, message);
	const sep = escapeHtml(template.separator ?? '');
	switch (template.client) {
		case 'gmail':
			return (
				`<div class="gmail_quote"><div dir="ltr" class="gmail_attr">${sep}<br>` +
				lines
					.map(([label, value, field]) =>
						field === 'from' && message.from.address
							? `${escapeHtml(label)}<strong class="gmail_sendername" dir="auto">${escapeHtml(message.from.name)}</strong> <span dir="auto">&lt;<a href="mailto:${message.from.address}">${message.from.address}</a>&gt;</span><br>`
							: `${escapeHtml(label)}${escapeHtml(value)}<br>`,
					)
					.join('') +
				`</div><br><br>${message.html}</div>`
			);
		case 'apple-mail':
			return (
				`<div><br><blockquote type="cite"><div>${sep}</div><br class="Apple-interchange-newline">` +
				lines.map(([label, value]) => `<div style="margin: 0px;"><span style="font-family: -webkit-system-font;"><b>${escapeHtml(label)}</b></span><span>${escapeHtml(value)}</span></div>`).join('') +
				`<br><div>${message.html}</div></blockquote></div>`
			);
		case 'outlook-web':
			return (
				`<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">` +
				lines.map(([label, value]) => boldLine(label, value)).join('<br>') +
				`</font><div>&nbsp;</div></div><div>${message.html}</div>`
			);
		case 'outlook-2019':
		case 'outlook-desktop':
			return (
				`<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal">` +
				lines.map(([label, value]) => boldLine(label, value)).join('<br>') +
				`</p></div><div>${message.html}</div>`
			);
		case 'outlook-original-message':
			return `<div><p class="MsoPlainText">${sep}<br>${lines.map(([label, value]) => escapeHtml(`${label}${value}`)).join('<br>')}</p></div><div>${message.html}</div>`;
		case 'thunderbird':
			return (
				`<div class="moz-forward-container"><br><br>${sep}<table class="moz-email-headers-table" border="0" cellspacing="0" cellpadding="0"><tbody>` +
				lines.map(([label, value]) => `<tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">${escapeHtml(label.replace(/\t$/, ''))}</th><td>${escapeHtml(value)}</td></tr>`).join('') +
				`</tbody></table><br><br>${message.html}</div>`
			);
		case 'yahoo':
			return (
				`<div id="yahoo_quoted_0000000001" class="yahoo_quoted"><div style="font-family:Helvetica Neue, Helvetica, Arial, sans-serif;font-size:13px;color:#26282a;"><div>${sep}</div>` +
				lines.map(([label, value]) => `<div><b>${escapeHtml(label.trimEnd())}</b> ${escapeHtml(value)}</div>`).join('') +
				`<div><br></div><div><br></div>${message.html}</div></div>`
			);
		case 'k9':
			// HtmlQuoteCreator (QuoteStyle.HEADER): an Outlook-like <hr> and bold labels, no separator line.
			return (
				`<div style='font-size:10.0pt;font-family:"Tahoma","sans-serif";padding:3.0pt 0in 0in 0in'>\r\n<hr style='border:none;border-top:solid #E1E1E1 1.0pt'>\r\n` +
				lines.map(([label, value]) => `${boldLine(label, value)}<br>\r\n`).join('') +
				`</div>\r\n<br>\r\n${message.html}`
			);
		case 'proton':
			return (
				`<div class="protonmail_quote">${sep}<br>` +
				lines.map(([label, value]) => `${escapeHtml(label)}${escapeHtml(value)}<br>`).join('') +
				`<br><blockquote class="protonmail_quote" type="cite">${message.html}</blockquote><br></div>`
			);
	}
}

/** The subject a forward by this client gives the message it forwards. */
export function forwardSubject(template: Template, subject: string): string {
	return `${template.subjectPrefix ?? 'Fwd:'} ${subject}`;
}

/** A message that forwards `inner` in this client: a note, then the block, in text and in HTML. */
export function forwardOf(template: Template, inner: Message, from: Person, to: Person, note: string): Message {
	return {
		from,
		to,
		cc: null,
		subject: forwardSubject(template, inner.subject),
		text: `${note}\n\n${forwardText(template, inner)}`,
		html: `<div dir="ltr">${escapeHtml(note)}<br><br>${forwardHtml(template, inner)}</div>`,
	};
}

/** The message a customer wrote, at the bottom of every chain. */
export function originalMessage(from: Person, to: Person, cc: Person | null, subject: string, body: string): Message {
	return { from, to, cc, subject, text: body, html: `<div dir="ltr">${escapeHtml(body)}</div>` };
}
