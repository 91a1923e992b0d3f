import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { environmentResolver } from '../../core/dns';
import { publicKeyOf } from '../../core/sending-domain/keys';
import { verifySendingDomain } from '../../core/sending-domain/verify';

/** Checks that the key parses and, through DNS, that it is the one published at selector._domainkey.domain. */
export async function testSendingDomainCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	try {
		const check = await verifySendingDomain({
			domain: String(data.domain ?? ''),
			selector: String(data.selector ?? ''),
			publicKey: publicKeyOf(String(data.privateKey ?? '')),
			resolver: environmentResolver(),
		});
		const dkim = check.records.find((r) => r.purpose === 'dkim')!;
		return dkim.status === 'ok'
			? { status: 'OK', message: `The key matches the DKIM record at ${dkim.name}` }
			: { status: 'Error', message: `DKIM record ${dkim.status}: ${dkim.detail}` };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}
