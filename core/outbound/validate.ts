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

// Dot-atom local part and a domain of LDH labels: what we put in From/To ourselves, no quoting needed.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** A bare mailbox address (`local@domain`), lower-cased domain; anything else is a clear error. */
export function emailAddress(field: string, value: string): string {
	headerText(field, value);
	const trimmed = value.trim();
	const at = trimmed.lastIndexOf('@');
	const local = at > 0 ? trimmed.slice(0, at) : '';
	const domain = at > 0 ? trimmed.slice(at + 1) : '';
	const labels = domain.split('.');
	const valid = local.length <= 64 && LOCAL.test(local) && domain.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l));
	if (!valid) throw new OutboundError('invalid-address', `${field} is not a valid email address: ${JSON.stringify(value)}`);
	return `${local}@${domain.toLowerCase()}`;
}

export function domainOf(address: string): string {
	return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
