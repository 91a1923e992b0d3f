import type { SendingDomain } from '../store/types';
import type { SendingDomainStore } from '../store/roles';
import { publicKeyOf } from './keys';
import { checkedDomain, checkedSelector, checkedSpfMechanism, dkimRecordName, sendingDomainRecords, SendingDomainError, type DnsRecordToPublish } from './records';

export interface ConnectSendingDomainRequest {
	/** Read from the Hosted Inbox Sending Domain API credential, as is the key. */
	domain: string;
	selector: string;
	/** PEM; only its public half leaves this function. */
	privateKey: string;
	spfMechanism?: string | null;
}

export interface ConnectedSendingDomain {
	domain: SendingDomain;
	records: DnsRecordToPublish[];
	next: string;
}

/**
 * Connects a sending domain with the key the user made and put in the credential: the store keeps the public key,
 * the answer lists the DNS records to publish. The private key is never returned. A verified domain keeps its key:
 * re-keying under the same selector would silently break the DKIM record it was verified with.
 */
export async function connectSendingDomain(store: SendingDomainStore, request: ConnectSendingDomainRequest): Promise<ConnectedSendingDomain> {
	const domain = checkedDomain(request.domain);
	const selector = checkedSelector(request.selector);
	const spfMechanism = request.spfMechanism ? checkedSpfMechanism(request.spfMechanism) : null;
	const publicKey = publicKeyOf(request.privateKey);
	const connected = await store.getSendingDomain(domain);
	if (connected?.verified && connected.selector === selector) {
		throw new SendingDomainError(
			`${domain} is already connected and verified with the DKIM selector "${selector}": Connect does not change the key of a verified domain. ` +
				'To re-key, make a new key under a new selector (e.g. hostedinbox2) in the credential and run Connect again; to re-check the records, run Verify.',
		);
	}
	await store.upsertSendingDomain({ domain, selector, publicKey });
	const summary = `Publish the DNS records, then run Verify (the DKIM record at ${dkimRecordName(domain, selector)} is required)`;
	const saved = await store.setSendingDomainVerified(domain, false, { connectedAt: new Date().toISOString(), spfMechanism, summary });
	return { domain: saved, records: sendingDomainRecords({ domain, selector, publicKey, spfMechanism }), next: `${summary}.` };
}
