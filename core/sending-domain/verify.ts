import type { SendingDomainStore } from '../store/roles';
import type { SendingDomain } from '../store/types';
import { checkedDomain, checkedSelector, checkedSpfMechanism, SendingDomainError, sendingDomainRecords, type DnsRecordToPublish } from './records';

/** Resolves like `dns.promises.resolve(name, rrtype)` (core/dns.ts's resolvers fit); only TXT is asked. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

export type RecordStatus = 'ok' | 'missing' | 'wrong' | 'dns-error';

export interface RecordCheck {
	purpose: DnsRecordToPublish['purpose'];
	name: string;
	required: boolean;
	status: RecordStatus;
	/** What the user must publish (or fix) when the status is not ok. */
	expected: string;
	/** The TXT records found at that name (joined strings). */
	found: string[];
	detail: string;
}

export interface SendingDomainCheck {
	domain: string;
	selector: string;
	verified: boolean;
	checkedAt: string;
	records: RecordCheck[];
	/** One line naming every required record that is missing or wrong, or saying all is well. */
	summary: string;
}

const NOT_THERE = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'NODATA']);

async function txt(resolver: DnsResolver, name: string): Promise<{ records: string[] } | { error: string }> {
	try {
		const answers = (await resolver(name, 'TXT')) as unknown[];
		return { records: answers.map((a) => (Array.isArray(a) ? a.join('') : String(a))) };
	} catch (error) {
		const code = (error as { code?: string }).code ?? '';
		if (NOT_THERE.has(code)) return { records: [] };
		return { error: `${code || 'error'}: ${(error as Error).message}` };
	}
}

function tags(record: string): Map<string, string> {
	const map = new Map<string, string>();
	for (const part of record.split(';')) {
		const eq = part.indexOf('=');
		if (eq > 0) map.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
	}
	return map;
}

function check(wanted: DnsRecordToPublish, found: string[], status: RecordStatus, detail: string): RecordCheck {
	return { purpose: wanted.purpose, name: wanted.name, required: wanted.required, status, expected: wanted.value, found, detail };
}

function checkDkim(wanted: DnsRecordToPublish, found: string[], publicKey: string): RecordCheck {
	const keys = found.filter((r) => tags(r).has('p') || /^v=DKIM1/i.test(r.trim()));
	if (!keys.length) return check(wanted, found, 'missing', `no DKIM key (TXT "v=DKIM1; ...") at ${wanted.name}`);
	const match = keys.find((r) => tags(r).get('p') === publicKey);
	if (!match) {
		const revoked = keys.some((r) => tags(r).get('p') === '');
		return check(wanted, found, 'wrong', revoked ? `the key at ${wanted.name} is revoked (empty p=)` : `the key at ${wanted.name} is not the one generated on Connect (a different p= value)`);
	}
	const k = tags(match).get('k');
	if (k && k.toLowerCase() !== 'rsa') return check(wanted, found, 'wrong', `the key at ${wanted.name} says k=${k}, but the generated key is RSA`);
	return check(wanted, found, 'ok', 'DKIM key published');
}

function checkSpf(wanted: DnsRecordToPublish, found: string[], mechanism: string | null): RecordCheck {
	const spf = found.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
	if (!spf.length) return check(wanted, found, 'missing', `no SPF record (TXT "v=spf1 ...") at ${wanted.name}`);
	if (spf.length > 1) return check(wanted, found, 'wrong', `${spf.length} SPF records at ${wanted.name}: receivers treat that as an error (permerror); merge them into one`);
	if (mechanism && !spf[0].toLowerCase().split(/\s+/).some((term) => term.replace(/^[+]/, '') === mechanism)) {
		return check(wanted, found, 'wrong', `the SPF record at ${wanted.name} does not contain "${mechanism}"`);
	}
	return check(wanted, found, 'ok', mechanism ? `SPF record contains ${mechanism}` : 'SPF record published');
}

function checkDmarc(wanted: DnsRecordToPublish, found: string[]): RecordCheck {
	const dmarc = found.filter((r) => /^v=DMARC1/i.test(r.trim()));
	if (!dmarc.length) return check(wanted, found, 'missing', `no DMARC record (TXT "v=DMARC1; ...") at ${wanted.name}`);
	return check(wanted, found, 'ok', `DMARC policy p=${tags(dmarc[0]).get('p') ?? '(none given)'}`);
}

/**
 * Checks the published records of a sending domain through `resolver` and says exactly which record is
 * missing or wrong. Verified = every required record is ok (DKIM always; SPF when a mechanism was set on Connect).
 */
export async function verifySendingDomain(input: {
	domain: string;
	selector: string;
	publicKey: string;
	spfMechanism?: string | null;
	resolver: DnsResolver;
	now?: Date;
}): Promise<SendingDomainCheck> {
	const domain = checkedDomain(input.domain);
	const selector = checkedSelector(input.selector);
	const mechanism = input.spfMechanism ? checkedSpfMechanism(input.spfMechanism) : null;
	const wanted = sendingDomainRecords({ domain, selector, publicKey: input.publicKey, spfMechanism: mechanism });
	const records = await Promise.all(
		wanted.map(async (w) => {
			const answer = await txt(input.resolver, w.name);
			if ('error' in answer) return check(w, [], 'dns-error', `could not look up ${w.name} (${answer.error}); try again later`);
			if (w.purpose === 'dkim') return checkDkim(w, answer.records, input.publicKey);
			if (w.purpose === 'spf') return checkSpf(w, answer.records, mechanism);
			return checkDmarc(w, answer.records);
		}),
	);
	const failing = records.filter((r) => r.required && r.status !== 'ok');
	const summary = failing.length
		? `${domain} is not verified: ${failing.map((r) => `${r.purpose.toUpperCase()} record ${r.status === 'dns-error' ? 'could not be checked' : r.status} (${r.detail}; publish TXT ${r.name} = "${r.expected}")`).join('; ')}`
		: `${domain} is verified${records.some((r) => r.status !== 'ok') ? `; advice: ${records.filter((r) => r.status !== 'ok').map((r) => r.detail).join('; ')}` : ''}`;
	return { domain, selector, verified: failing.length === 0, checkedAt: (input.now ?? new Date()).toISOString(), records, summary };
}

/** A connected domain checked again, with the key and SPF mechanism it was connected with; the verdict is saved. */
export async function recheckSendingDomain(
	store: SendingDomainStore,
	connected: SendingDomain,
	resolver: DnsResolver,
): Promise<{ domain: SendingDomain; check: SendingDomainCheck }> {
	const spfMechanism = typeof connected.lastCheck?.spfMechanism === 'string' ? connected.lastCheck.spfMechanism : null;
	const check = await verifySendingDomain({ domain: connected.domain, selector: connected.selector, publicKey: connected.publicKey, spfMechanism, resolver });
	return { domain: await store.setSendingDomainVerified(connected.domain, check.verified, { ...check, spfMechanism }), check };
}

/** Verify: checks the published records of a connected sending domain and saves the verdict; an unconnected domain is bad input. */
export async function verifyConnectedSendingDomain(
	store: SendingDomainStore,
	domainName: string,
	resolver: DnsResolver,
): Promise<{ domain: SendingDomain; check: SendingDomainCheck }> {
	const domain = checkedDomain(domainName);
	const connected = await store.getSendingDomain(domain);
	if (!connected) throw new SendingDomainError(`${domain} is not a connected sending domain: run Sending Domain > Connect first`);
	return await recheckSendingDomain(store, connected, resolver);
}
