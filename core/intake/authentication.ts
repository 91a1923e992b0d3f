// mailauth 4.13 is the newest line that runs on Node 20: 7.x needs Node >= 22.19 and crashes on 20.
import { arc, dkimVerify, dmarc, spf } from 'mailauth';
import type { ARCResult, DKIMResult, DKIMVerifyResult, DMARCResult, SPFResult } from 'mailauth';
import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';

import type { DnsResolver } from '../dns';
import type { InboxConfig } from '../inbox';
import type { AuthSummary, Envelope } from './types';

/** What later stages need to know about authentication beyond the printed summary. */
export interface AuthDetails {
	headerFromDomain: string | null;
	/** A passing DKIM signature aligned with the From domain. */
	dkimAlignedPass: boolean;
	dmarcPass: boolean;
	/** A passing ARC chain sealed by one of the inbox's trusted sealers. */
	arcTrustedPass: boolean;
	/** Domains of the DKIM signatures that verified. */
	passingDkimDomains: string[];
	/** An upstream Authentication-Results header this inbox trusts (trusted relay or authserv-id). */
	upstream: UpstreamResults | null;
	/** DNS lookups that failed temporarily, described for a person. */
	dnsTrouble: string[];
	dmarcResult: DMARCResult | false;
	spfResult: SPFResult | null;
	dkimResults: DKIMResult[];
	arcResult: ARCResult | null;
}

export interface UpstreamResults {
	authservId: string;
	/** Why it is trusted: "trusted relay 192.0.2.7" or "trusted authserv-id mx.example". */
	trustedAs: string;
	results: Record<string, string>;
}

export interface AuthInput {
	raw: Buffer;
	inbox: InboxConfig;
	envelope: Envelope;
	resolver: DnsResolver;
	now: Date | null;
}

function domainOf(address: string | null | undefined): string | null {
	if (!address) return null;
	const at = address.lastIndexOf('@');
	return at >= 0 ? address.slice(at + 1).toLowerCase() : null;
}

function matchesDomain(domain: string, list: string[]): boolean {
	const d = domain.toLowerCase();
	return list.some((entry) => d === entry || d.endsWith(`.${entry}`));
}

function inRelays(ip: string | null, relays: string[]): boolean {
	if (!ip || !relays.length) return false;
	const family = isIP(ip);
	if (!family) return false;
	const list = new BlockList();
	for (const range of relays) {
		const [net, bits] = range.split('/');
		const netFamily = isIP(net);
		if (!netFamily) continue;
		const type = netFamily === 6 ? 'ipv6' : 'ipv4';
		if (bits === undefined) list.addAddress(net, type);
		else list.addSubnet(net, Number(bits), type);
	}
	return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** Reads `method=result` pairs of one Authentication-Results header (RFC 8601), comments dropped. */
export function parseAuthenticationResults(line: string | Buffer): { authservId: string; results: Record<string, string> } {
	const value = String(line)
		.replace(/^[^:]*:/, '')
		.replace(/\r?\n[ \t]+/g, ' ')
		.replace(/\([^()]*\)/g, ' ');
	const [id, ...rest] = value.split(';');
	const results: Record<string, string> = {};
	for (const item of rest) {
		const match = /^\s*([a-z0-9-]+)\s*=\s*([a-z]+)/i.exec(item);
		if (match && !(match[1].toLowerCase() in results)) results[match[1].toLowerCase()] = match[2].toLowerCase();
	}
	return { authservId: id.trim().split(/\s+/)[0]?.toLowerCase() ?? '', results };
}

function findUpstream(input: AuthInput, headers: DKIMVerifyResult['headers']): UpstreamResults | null {
	const lines = (headers?.parsed ?? []).filter((h) => h.key === 'authentication-results') as Array<{ line: string | Buffer }>;
	if (!lines.length) return null;
	if (inRelays(input.envelope.clientIp, input.inbox.trustedRelays)) {
		// A relay prepends its header, so the topmost one is the relay's own.
		const top = parseAuthenticationResults(lines[0].line);
		return { ...top, trustedAs: `trusted relay ${input.envelope.clientIp}` };
	}
	// Only the topmost header can be the receiving server's own: a sender can write any authserv-id further down.
	const top = parseAuthenticationResults(lines[0].line);
	return input.inbox.trustedAuthservIds.includes(top.authservId) ? { ...top, trustedAs: `trusted authserv-id ${top.authservId}` } : null;
}

/** SPF, DKIM, ARC and DMARC, composed from mailauth's own steps the way its authenticate() does. */
export async function checkAuthentication(input: AuthInput): Promise<{ summary: AuthSummary; details: AuthDetails }> {
	const { envelope, resolver, inbox } = input;
	// authenticate() does not pass a current time to DKIM, dkimVerify does (curTime): needed for --now.
	const dkim = await dkimVerify(input.raw, {
		resolver,
		sender: envelope.mailFrom || undefined,
		curTime: input.now ?? undefined,
	});
	const upstream = findUpstream(input, dkim.headers);
	const dnsTrouble: string[] = [];

	let spfResult: SPFResult | null = null;
	if (envelope.clientIp) {
		const helo = envelope.helo && isIP(envelope.helo) ? `[${envelope.helo}]` : envelope.helo || `[${envelope.clientIp}]`;
		spfResult = await spf({ ip: envelope.clientIp, helo, sender: envelope.mailFrom || undefined, mta: hostname(), resolver });
		if (spfResult.status.result === 'temperror') {
			dnsTrouble.push(`SPF lookup for ${spfResult.domain} failed temporarily (${spfResult.status.comment || 'DNS error'})`);
		}
	}
	const spfDomain = spfResult?.domain ?? domainOf(envelope.mailFrom);

	const dkimResults = dkim.results ?? [];
	for (const r of dkimResults) {
		if (r.status.result === 'temperror') {
			dnsTrouble.push(`DKIM key lookup for ${r.selector}._domainkey.${r.signingDomain} failed temporarily`);
		}
	}
	const arcResult = await arc(dkim.arc as Parameters<typeof arc>[0], { resolver });
	const sealer = arcResult.signature ? arcResult.signature.signingDomain.toLowerCase() : null;
	const arcTrusted = !!sealer && matchesDomain(sealer, inbox.trustedArcSealers);

	const headerFromDomain = domainOf(dkim.headerFrom?.[0]);
	let dmarcResult: DMARCResult | false = false;
	if (dkim.headerFrom?.length) {
		dmarcResult = await dmarc({
			headerFrom: dkim.headerFrom,
			spfDomains: spfResult?.status.result === 'pass' && spfResult.domain ? [spfResult.domain] : [],
			dkimDomains: dkimResults
				.filter((r) => r.status.result === 'pass')
				.map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
			arcResult,
			resolver,
		} as Parameters<typeof dmarc>[0]);
		if (dmarcResult && dmarcResult.status.result === 'temperror') {
			dnsTrouble.push(`DMARC record lookup for _dmarc.${headerFromDomain} failed temporarily`);
		}
	}

	const passing = dkimResults.filter((r) => r.status.result === 'pass');
	const dkimAlignedPass = passing.some((r) => !!r.status.aligned);
	const spfSummary: AuthSummary['spf'] = spfResult
		? { result: spfResult.status.result, domain: spfDomain, clientIp: envelope.clientIp, comment: spfResult.status.comment || null }
		: upstream?.results.spf
			? { result: upstream.results.spf, domain: spfDomain, clientIp: null, comment: `from Authentication-Results of ${upstream.authservId} (${upstream.trustedAs})` }
			: { result: 'none', domain: spfDomain, clientIp: null, comment: 'not checked: client IP unknown' };

	const summary: AuthSummary = {
		spf: spfSummary,
		dkim: {
			result: passing.length ? 'pass' : (dkimResults[0]?.status.result ?? 'none'),
			signatures: dkimResults.map((r) => ({
				domain: r.signingDomain,
				selector: r.selector ?? null,
				result: r.status.result,
				aligned: !!r.status.aligned,
				comment: r.status.comment || null,
			})),
		},
		dmarc: dmarcResult
			? { result: dmarcResult.status.result, domain: headerFromDomain, policy: dmarcResult.policy ?? null, comment: dmarcResult.status.comment || null }
			: { result: 'none', domain: headerFromDomain, policy: null, comment: headerFromDomain ? null : 'no From address to check' },
		arc: {
			result: arcResult.status.result,
			sealer,
			trusted: arcTrusted,
			comment: arcResult.status.comment || null,
		},
	};
	return {
		summary,
		details: {
			headerFromDomain,
			dkimAlignedPass,
			dmarcPass: !!dmarcResult && dmarcResult.status.result === 'pass',
			arcTrustedPass: arcTrusted && arcResult.status.result === 'pass',
			passingDkimDomains: passing.map((r) => r.signingDomain.toLowerCase()),
			upstream,
			dnsTrouble,
			dmarcResult,
			spfResult,
			dkimResults,
			arcResult,
		},
	};
}
