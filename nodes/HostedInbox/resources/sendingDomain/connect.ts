import { generateDkimKeyPair } from '../../../../core/sending-domain/keys';
import { checkedDomain, checkedSelector, checkedSpfMechanism, dkimRecordName, sendingDomainRecords } from '../../../../core/sending-domain/records';
import { StoreInputError } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';

/** The input checks of the sending-domain core as store input errors: the node reports them as "nothing was changed". */
export function sendingDomainInput<T>(read: () => T): T {
	let problem: string | null = null;
	let value: T | undefined;
	try {
		value = read();
	} catch (error) {
		problem = (error as Error).message;
	}
	if (problem !== null) throw new StoreInputError(problem);
	return value as T;
}

export const connect: Operation = {
	option: {
		name: 'Connect',
		value: 'connect',
		action: 'Connect a sending domain',
		description: 'Generate a DKIM key for a custom from-address domain and list the DNS records to publish',
	},
	properties: [
		{
			displayName: 'Domain',
			name: 'domain',
			type: 'string',
			placeholder: 'acme.com',
			required: true,
			default: '',
			description: 'The domain of the custom from-address (support@acme.com → acme.com)',
		},
		{
			displayName: 'DKIM Selector',
			name: 'selector',
			type: 'string',
			required: true,
			default: 'hostedinbox1',
			description: 'Names the DKIM record (&lt;selector&gt;._domainkey.&lt;domain&gt;); pick a new one to rotate the key',
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
	async execute(store, itemIndex) {
		const { domain, selector, spfMechanism } = sendingDomainInput(() => {
			const spf = text(this, 'spfMechanism', itemIndex);
			return { domain: checkedDomain(text(this, 'domain', itemIndex)), selector: checkedSelector(text(this, 'selector', itemIndex)), spfMechanism: spf ? checkedSpfMechanism(spf) : null };
		});
		const keys = generateDkimKeyPair();
		// The store keeps the public key only; the private key is handed out once, for an n8n credential (encrypted by n8n).
		await store.upsertSendingDomain({ domain, selector, publicKey: keys.publicKey });
		const connectedAt = new Date().toISOString();
		const summary = `Publish the DNS records, then run Verify (the DKIM record at ${dkimRecordName(domain, selector)} is required)`;
		const saved = await store.setSendingDomainVerified(domain, false, { connectedAt, spfMechanism, summary });
		return {
			...asData(saved),
			records: sendingDomainRecords({ domain, selector, publicKey: keys.publicKey, spfMechanism }).map(asData),
			credential: { domain, selector, privateKey: keys.privateKey },
			next: 'Copy credential.privateKey into a new "Hosted Inbox Sending Domain API" credential now (it is kept nowhere else), publish the records, then run Verify. Consider not saving this execution\'s data.',
		};
	},
};
