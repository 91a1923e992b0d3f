import { loadZoneFile, systemResolver, zoneResolver, type DnsResolver } from '../dns';

/** Real DNS, or the zone file named by HOSTED_INBOX_DNS_ZONE (tests, air-gapped setups), as the trigger does. */
export function environmentResolver(env: NodeJS.ProcessEnv = process.env): DnsResolver {
	const zoneFile = env.HOSTED_INBOX_DNS_ZONE;
	return zoneFile ? zoneResolver(loadZoneFile(zoneFile)) : systemResolver();
}
