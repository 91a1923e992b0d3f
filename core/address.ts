/**
 * Email addresses in the product's one sense, for the mail we read (attacker text), the addresses people give us
 * (inbox settings, contacts, agents) and the mail we send alike: what the intake takes in, the store keeps and a
 * reply can be sent to without quoting.
 */

// RFC 5322 atext: a dot-atom local part is runs of these joined by single dots.
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
// A domain label (RFC 1035 letter-digit-hyphen): 1 to 63 characters, no hyphen at either end.
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * `local@domain`: a dot-atom local part of at most 64 characters, a domain of two or more labels of at most 253,
 * at most 254 in all (RFC 5321 4.5.3.1). No quoted local part, address literal or raw UTF-8: nothing a header
 * could be injected with. Lengths are checked before any pattern, and each pattern runs on one atom or label.
 */
export function isEmailAddress(value: string | null | undefined): value is string {
	if (!value || value.length > 254) return false;
	const at = value.lastIndexOf('@');
	const local = value.slice(0, at);
	const domain = value.slice(at + 1);
	if (at < 1 || local.length > 64 || domain.length > 253) return false;
	const labels = domain.split('.');
	return labels.length >= 2 && local.split('.').every((atom) => ATOM.test(atom)) && labels.every((label) => LABEL.test(label));
}

/** The domain of an address, lower-cased (domains are case-insensitive); null when there is no address or no "@". */
export function domainOf(address: string | null | undefined): string | null {
	if (!address) return null;
	const at = address.lastIndexOf('@');
	return at >= 0 ? address.slice(at + 1).toLowerCase() : null;
}
