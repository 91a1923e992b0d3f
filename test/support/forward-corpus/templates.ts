/**
 * Forward templates per client and language, read from each client's own sources (see README.md). Nothing here
 * comes from the reader's tables (core/intake): the corpus checks the reader, it must not share its labels.
 */
import extracted from './templates.json';

export type Field = 'from' | 'to' | 'cc' | 'date' | 'subject';

export type Client =
	| 'gmail'
	| 'apple-mail'
	| 'outlook-web'
	| 'outlook-2019'
	| 'outlook-desktop'
	| 'outlook-original-message'
	| 'thunderbird'
	| 'yahoo'
	| 'k9'
	| 'proton';

export interface Template {
	client: Client;
	lang: string;
	/** The line that opens the block ("---------- Forwarded message ---------", "Begin forwarded message:"), if any. */
	separator: string | null;
	/** Header lines in the client's order; `label` is exactly what the client writes before the value. */
	fields: Array<{ field: Field; label: string }>;
	/** The outer subject's prefix where the source shows it ("WG:", "TR:"); "Fwd:" otherwise. */
	subjectPrefix?: string;
	/** Where the labels come from: repository@commit and path (and keys), or a real sample's thread. */
	source: string;
}

interface Extracted extends Omit<Template, 'client' | 'subjectPrefix'> {
	client: string;
	subjectPrefix?: string;
}

/** templates.json names new Outlook 2019 "outlook" (crisp's new_outlook_2019_* fixtures). */
const fromJson = (extracted as Extracted[]).map((t): Template => ({ ...t, client: (t.client === 'outlook' ? 'outlook-2019' : t.client) as Client }));

const english = (labels: Array<[Field, string]>) => labels.map(([field, label]) => ({ field, label }));

/** Templates read from single real samples (one language each). */
const fromSamples: Template[] = [
	{
		client: 'outlook-desktop',
		lang: 'en',
		separator: null,
		fields: english([['from', 'From: '], ['date', 'Sent: '], ['to', 'To: '], ['subject', 'Subject: ']]),
		source: 'crisp-oss/email-forward-parser issue #3 (a forward from Outlook Desktop, no separator line)',
	},
	{
		client: 'outlook-original-message',
		lang: 'en',
		separator: '-----Original Message-----',
		fields: english([['from', 'From: '], ['date', 'Sent: '], ['to', 'To: '], ['subject', 'Subject: ']]),
		source: 'thunderbird-conversations/thunderbird-conversations issue #117 (a plain-text Outlook quote); the "Name [mailto:address]" From of crisp-oss/email-forward-parser@0ae6801 test/fixtures/outlook_2013_en_body.txt',
	},
	{
		client: 'proton',
		lang: 'en',
		separator: '------- Forwarded Message -------',
		fields: english([['from', 'From: '], ['date', 'Date: On '], ['subject', 'Subject: '], ['to', 'To: ']]),
		subjectPrefix: 'Fw:',
		source: 'ProtonMail/WebClients applications/mail helpers/message/messageDraft.ts (generatePreviousMessageInfos, FORWARDED_MESSAGE, FW_PREFIX, CLASSNAME_BLOCKQUOTE protonmail_quote)',
	},
];

export const TEMPLATES: Template[] = [...fromJson, ...fromSamples];
