import { dnsResolverFor, type DnsResolver } from '../../core/dns';

/** DNS for the nodes: real DNS, or the offline zone file named by HOSTED_INBOX_DNS_ZONE (tests, demos, air-gapped setups). */
export function dnsResolver(): DnsResolver {
	return dnsResolverFor(process.env.HOSTED_INBOX_DNS_ZONE);
}
