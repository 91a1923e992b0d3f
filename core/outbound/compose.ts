import MailComposer from 'nodemailer/lib/mail-composer';

import { AUTOMATIC_MESSAGE_HEADERS } from './automatic';
import { dkimSigned, type DkimKey } from './dkim';
import { OutboundError } from './errors';
import { LOOP_HEADER } from '../flags';
import { emailAddress, headerText } from './validate';

export interface Mailbox {
	address: string;
	name?: string | null;
}

/** A team email ready to be turned into bytes; every field is validated by `buildTeamEmail`. */
export interface TeamEmail {
	from: Mailbox;
	to: Mailbox[];
	cc: Mailbox[];
	subject: string;
	text: string;
	html: string;
	/** Bare ids (no angle brackets). */
	messageId: string;
	inReplyTo: string[];
	references: string[];
	automatic: boolean;
	date?: Date;
}

// Lenient on purpose: a customer's odd Message-ID (no @) must not block the reply; only what breaks the header is refused.
const MESSAGE_ID = /^[^\s<>]+$/;

function messageId(field: string, id: string): string {
	headerText(field, id);
	if (!MESSAGE_ID.test(id)) throw new OutboundError('invalid-header', `${field} is not a valid Message-ID: ${JSON.stringify(id)}`);
	return `<${id}>`;
}

function mailbox(field: string, box: Mailbox): { name: string; address: string } {
	return { address: emailAddress(`${field} address`, box.address), name: headerText(`${field} name`, box.name ?? '') };
}

/** The RFC 5322 bytes of a team email, DKIM-signed with mailauth when a key for the from-domain is given. */
export async function buildTeamEmail(email: TeamEmail, dkim?: DkimKey | null): Promise<Buffer> {
	const from = mailbox('From', email.from);
	const to = email.to.map((m) => mailbox('To', m));
	const cc = email.cc.map((m) => mailbox('Cc', m));
	if (!to.length) throw new OutboundError('invalid-address', 'The team email has no recipient');
	const headers: Record<string, string> = {
		// The loop marker names the From, already public: never the hosted address a custom domain keeps out of sight (mail
		// sent straight to it would skip the checks of the mailbox that forwards there).
		[LOOP_HEADER]: from.address,
		...(email.automatic ? AUTOMATIC_MESSAGE_HEADERS : {}),
	};
	const composer = new MailComposer({
		from,
		to,
		cc: cc.length ? cc : undefined,
		subject: headerText('Subject', email.subject),
		text: email.text,
		html: email.html,
		messageId: messageId('Message-ID', email.messageId),
		inReplyTo: email.inReplyTo.length ? email.inReplyTo.map((id) => messageId('In-Reply-To', id)).join(' ') : undefined,
		references: email.references.length ? email.references.map((id) => messageId('References', id)) : undefined,
		date: email.date ?? new Date(),
		headers,
	});
	const built = await new Promise<Buffer>((resolve, reject) => composer.compile().build((error, message) => (error ? reject(error) : resolve(message))));
	// nodemailer leaves a 7bit part's own line ends bare; SMTP sends every line end as CRLF, and the signature is
	// over what is sent.
	const raw = Buffer.from(built.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
	return dkim ? dkimSigned(raw, dkim, email.date ?? new Date()) : raw;
}
