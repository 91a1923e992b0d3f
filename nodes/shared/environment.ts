/**
 * What the nodes read of their process's environment, in one place: core takes these as plain values.
 */
import { readFileSync } from 'node:fs';

import { dnsResolverFor, rememberingResolver, type DnsResolver } from '../../core/dns';
import { fetchAwsCertificate, type FetchCertificate } from '../../core/http/sns';

/** DNS for the nodes: real DNS, or the offline zone file named by HOSTED_INBOX_DNS_ZONE (tests, demos, air-gapped setups). */
export function dnsResolver(): DnsResolver {
	return dnsResolverFor(process.env.HOSTED_INBOX_DNS_ZONE);
}

const rememberedDns = new Map<string, DnsResolver>();

/**
 * The DNS of the HTTP door, one for the process (for each offline zone file): n8n runs the webhook once a post, and
 * a door made for each post would forget every answer (SPF, DKIM keys, DMARC) with it. Its answers are remembered
 * for a minute, as the SMTP and IMAP doors, made once an activation, remember theirs (core/dns.ts); an offline zone
 * file is read once.
 */
export function dnsResolverForPosts(): DnsResolver {
	const zoneFile = process.env.HOSTED_INBOX_DNS_ZONE ?? '';
	let resolver = rememberedDns.get(zoneFile);
	if (!resolver) rememberedDns.set(zoneFile, (resolver = rememberingResolver(dnsResolver())));
	return resolver;
}

/** n8n's user folder (N8N_USER_FOLDER; the home folder when unset): the embedded store and the TLS certificate live in its .n8n. */
export function n8nUserFolder(): string | undefined {
	return process.env.N8N_USER_FOLDER;
}

/** n8n runs in queue mode (EXECUTIONS_MODE=queue): main and workers are separate processes. */
export function queueMode(): boolean {
	return process.env.EXECUTIONS_MODE === 'queue';
}

const offlineCertificates = new Map<string, FetchCertificate>();

/**
 * Where SNS signing certificates come from: AWS (https://sns.<region>.amazonaws.com), or, like the offline DNS zone,
 * the JSON file named by HOSTED_INBOX_SNS_CERTIFICATES (`{ "<certificate URL>": "<PEM>" }`: tests, air-gapped setups).
 * Only the n8n admin sets the environment; the door still refuses any URL that is not an AWS SNS one.
 */
export function snsCertificates(): FetchCertificate {
	const file = process.env.HOSTED_INBOX_SNS_CERTIFICATES;
	if (!file) return fetchAwsCertificate;
	let fetcher = offlineCertificates.get(file);
	if (!fetcher) {
		const certificates = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
		fetcher = async (url) => {
			const pem = certificates[url];
			if (typeof pem !== 'string') throw new Error(`No SNS signing certificate for ${url} in ${file} (HOSTED_INBOX_SNS_CERTIFICATES)`);
			return pem;
		};
		offlineCertificates.set(file, fetcher);
	}
	return fetcher;
}
