/** Bad input for a sending domain (domain, selector, SPF mechanism, key): nothing was changed. */
export class SendingDomainError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SendingDomainError';
	}
}

/** A DNS record the user publishes at their DNS provider for a sending domain. */
export interface DnsRecordToPublish {
	purpose: 'dkim' | 'spf' | 'dmarc';
	type: 'TXT';
	name: string;
	value: string;
	/** The value split into strings of at most 255 characters, for providers and zone files that need it. */
	strings: string[];
	/** Whether Verify requires it; the others are advice for deliverability. */
	required: boolean;
	note: string;
}

const DOMAIN = /^(?=.{1,253}$)((?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$/;
const SELECTOR = /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/;

export function checkedDomain(domain: string): string {
	const d = domain.trim().toLowerCase().replace(/\.$/, '');
	if (!DOMAIN.test(d)) throw new SendingDomainError(`"${domain}" is not a domain name (e.g. acme.com)`);
	return d;
}

export function checkedSelector(selector: string): string {
	const s = selector.trim().toLowerCase();
	if (!SELECTOR.test(s)) throw new SendingDomainError(`"${selector}" is not a DKIM selector (letters, digits and hyphens, e.g. hostedinbox1)`);
	return s;
}

/** An SPF mechanism the user's sending server needs, e.g. `include:_spf.google.com` or `ip4:192.0.2.10`. */
export function checkedSpfMechanism(mechanism: string): string {
	const m = mechanism.trim().toLowerCase();
	const bare = /^(include:|ip4:|ip6:|a:|mx:)/.test(m) ? m : `include:${m}`;
	if (!/^(include|ip4|ip6|a|mx):[a-z0-9._:/-]+$/.test(bare)) throw new SendingDomainError(`"${mechanism}" is not an SPF mechanism (e.g. include:_spf.example.net or ip4:192.0.2.10)`);
	return bare;
}

export function dkimRecordName(domain: string, selector: string): string {
	return `${selector}._domainkey.${domain}`;
}

export function split255(value: string): string[] {
	const strings: string[] = [];
	for (let i = 0; i < value.length; i += 255) strings.push(value.slice(i, i + 255));
	return strings;
}

function record(purpose: DnsRecordToPublish['purpose'], name: string, value: string, required: boolean, note: string): DnsRecordToPublish {
	return { purpose, type: 'TXT', name, value, strings: split255(value), required, note };
}

/** The records that make a custom from-address on `domain` authenticate: DKIM (required), SPF, DMARC. */
export function sendingDomainRecords(input: { domain: string; selector: string; publicKey: string; spfMechanism?: string | null }): DnsRecordToPublish[] {
	const domain = checkedDomain(input.domain);
	const selector = checkedSelector(input.selector);
	const spf = input.spfMechanism ? checkedSpfMechanism(input.spfMechanism) : null;
	return [
		record('dkim', dkimRecordName(domain, selector), `v=DKIM1; k=rsa; p=${input.publicKey}`, true, 'Signs the team email: receivers check the signature against this key.'),
		spf
			? record('spf', domain, `v=spf1 ${spf} ~all`, true, `Authorises your SMTP server to send for ${domain}. If ${domain} already has a v=spf1 record, add "${spf}" to it instead: a domain must have exactly one.`)
			: record('spf', domain, 'v=spf1 include:<your SMTP provider> ~all', false, `Authorise the SMTP server the team email goes through; set the SPF mechanism on Connect to have Verify check it.`),
		record('dmarc', `_dmarc.${domain}`, `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}`, false, 'Recommended: tells receivers what to do with mail that fails; start with p=none.'),
	];
}
