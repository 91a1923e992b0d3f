import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import type { DkimKey } from '../../core/outbound/dkim';
import { publicKeyOf } from '../../core/sending-domain/keys';
import { verifySendingDomain } from '../../core/sending-domain/verify';
import { dnsResolver } from './environment';

/** The Hosted Inbox Sending Domain API credential: the DKIM key the user made, with its domain and selector. */
export const SENDING_DOMAIN_CREDENTIAL = 'hostedInboxSendingDomainApi';

/** The credential's key as the core takes it. */
export function dkimKeyFromCredential(credential: ICredentialDataDecryptedObject): DkimKey {
	return { domain: String(credential.domain ?? ''), selector: String(credential.selector ?? ''), privateKey: String(credential.privateKey ?? '') };
}

/** Checks that the key parses and, through DNS, that it is the one published at selector._domainkey.domain. */
export async function testSendingDomainCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	try {
		const key = dkimKeyFromCredential(credential.data ?? {});
		const check = await verifySendingDomain({ domain: key.domain, selector: key.selector, publicKey: publicKeyOf(key.privateKey), resolver: dnsResolver() });
		const dkim = check.records.find((r) => r.purpose === 'dkim')!;
		return dkim.status === 'ok'
			? { status: 'OK', message: `The key matches the DKIM record at ${dkim.name}` }
			: { status: 'Error', message: `DKIM record ${dkim.status}: ${dkim.detail}` };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}
