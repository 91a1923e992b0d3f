import { domainOf, isEmailAddress } from '../address';
import { foldControlCharacters, hasControlCharacters } from '../intake/headers';
import { OutboundError } from './errors';

/** A single-line header text the workflow gives (a name, a subject): control characters are refused, never stripped. */
export function headerText(field: string, value: string): string {
	if (hasControlCharacters(value)) {
		const what = /[\r\n]/.test(value) ? 'a line break (CR/LF)' : 'a control character';
		throw new OutboundError('invalid-header', `${field} contains ${what}, which could inject mail headers: ${JSON.stringify(value)}`);
	}
	return value.trim();
}

/**
 * A stored header text (a conversation's subject, a contact's name) decoded from a customer's mail: control
 * characters are folded to spaces, as the intake does, so one stored before it did cannot block every reply.
 */
export function storedHeaderText(value: string): string {
	return foldControlCharacters(value).trim();
}

/** A bare mailbox address (`local@domain`), lower-cased domain; anything else is a clear error. */
export function emailAddress(field: string, value: string): string {
	headerText(field, value);
	const trimmed = value.trim();
	if (!isEmailAddress(trimmed)) throw new OutboundError('invalid-address', `${field} is not a valid email address: ${JSON.stringify(value)}`);
	return `${trimmed.slice(0, trimmed.lastIndexOf('@'))}@${domainOf(trimmed)}`;
}
