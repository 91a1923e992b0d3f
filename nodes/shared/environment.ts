/**
 * What the nodes read of their process's environment, in one place: core takes these as plain values.
 */
import { dnsResolverFor, type DnsResolver } from '../../core/dns';

/** DNS for the nodes: real DNS, or the offline zone file named by HOSTED_INBOX_DNS_ZONE (tests, demos, air-gapped setups). */
export function dnsResolver(): DnsResolver {
	return dnsResolverFor(process.env.HOSTED_INBOX_DNS_ZONE);
}

/** n8n's user folder (N8N_USER_FOLDER; the home folder when unset): the embedded store and the TLS certificate live in its .n8n. */
export function n8nUserFolder(): string | undefined {
	return process.env.N8N_USER_FOLDER;
}

/** n8n runs in queue mode (EXECUTIONS_MODE=queue): main and workers are separate processes. */
export function queueMode(): boolean {
	return process.env.EXECUTIONS_MODE === 'queue';
}
