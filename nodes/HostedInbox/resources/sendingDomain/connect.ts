import { connectSendingDomain } from '../../../../core/sending-domain/connect';
import { dkimKeyFromCredential, SENDING_DOMAIN_CREDENTIAL } from '../../../shared/sendingDomainCredential';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';

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
		const key = dkimKeyFromCredential(await this.getCredentials(SENDING_DOMAIN_CREDENTIAL, itemIndex));
		const connected = await connectSendingDomain(store, { ...key, spfMechanism: text(this, 'spfMechanism', itemIndex) || null });
		return { ...asData(connected.domain), records: connected.records.map(asData), next: connected.next };
	},
};
