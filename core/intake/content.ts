import type { ParsedMail } from 'mailparser';

import { foldControlCharacters, headerTexts } from './headers';
import type { MessageContent } from './types';

/** The parsed message as plain data; attachment names and types folded as every decoded header value is. */
export function messageContent(parsed: ParsedMail | null): MessageContent | null {
	if (!parsed) return null;
	return {
		headers: Object.fromEntries([...parsed.headers.keys()].map((name) => [name, headerTexts(parsed, name)])),
		attachments: parsed.attachments.map((attachment) => ({
			filename: attachment.filename === undefined ? null : foldControlCharacters(attachment.filename),
			contentType: foldControlCharacters(attachment.contentType),
			size: attachment.size,
			content: attachment.content,
		})),
	};
}

/** Every value of a header field as decoded text; none when the message has no such field (or no content). */
export function headerValues(content: MessageContent | null, name: string): string[] {
	const key = name.toLowerCase();
	return content && Object.hasOwn(content.headers, key) ? content.headers[key] : [];
}
