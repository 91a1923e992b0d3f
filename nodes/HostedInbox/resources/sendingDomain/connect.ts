import { connectSendingDomain } from '../../../../core/sending-domain/connect';
import { SendingDomainError } from '../../../../core/sending-domain/records';
import { StoreInputError } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';

const SENDING_DOMAIN_CREDENTIAL = 'hostedInboxSendingDomainApi';

/** The input checks of the sending-domain core as store input errors: the node reports them as "nothing was changed". */
export async function sendingDomainInput<T>(read: () => Promise<T> | T): Promise<T> {
	try {
		return await read();
	} catch (error) {
		throw error instanceof SendingDomainError ? new StoreInputError(error.message) : error;
	}
}

export const connect: Operation = {
	option: {
		name: 'Connect',
		value: 'connect',
		action: 'Connect a sending domain',
		description: 'Take the DKIM key of a Hosted Inbox Sending Domain API credential and list the DNS records to publish (the private key is never output)',
	},
	properties: [
		{
			displayName:
				'Make the DKIM key first, on your own machine: <code>npx hosted-inbox sending-domain keygen</code> (or <code>openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048</code>) prints it; paste it with the domain and a selector into the credential',
			name: 'keyNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'SPF Mechanism',
			name: 'spfMechanism',
			type: 'string',
			default: '',
			placeholder: 'include:_spf.your-smtp-provider.com',
			description: 'What authorises your SMTP server in SPF (an include: or ip4:); when set, Verify requires it in the domain\'s SPF record',
		},
	],
	secret: true,
	async execute(store, itemIndex) {
		const credential = await this.getCredentials(SENDING_DOMAIN_CREDENTIAL, itemIndex);
		const connected = await sendingDomainInput(
			async () =>
				await connectSendingDomain(store, {
					domain: String(credential.domain ?? ''),
					selector: String(credential.selector ?? ''),
					privateKey: String(credential.privateKey ?? ''),
					spfMechanism: text(this, 'spfMechanism', itemIndex) || null,
				}),
		);
		return { ...asData(connected.domain), records: connected.records.map(asData), next: connected.next };
	},
};
