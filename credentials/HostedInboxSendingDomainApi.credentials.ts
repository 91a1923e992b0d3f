import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The DKIM key of a sending domain. The user makes it on their own machine (`hosted-inbox sending-domain keygen`, or
 * `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`) and pastes it here, where n8n keeps it encrypted.
 * Hosted Inbox > Sending Domain > Connect reads it to derive the public key and outputs only the DNS records: the
 * private key is never in a node's output, an execution or the inbox store (which keeps the public key only).
 */
export class HostedInboxSendingDomainApi implements ICredentialType {
	name = 'hostedInboxSendingDomainApi';

	displayName = 'Hosted Inbox Sending Domain API';

	documentationUrl = 'https://github.com/hosted-inbox/n8n-nodes-hosted-inbox#sending-domain';

	icon = 'file:hostedInbox.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Domain',
			name: 'domain',
			type: 'string',
			placeholder: 'acme.com',
			default: '',
			required: true,
			description: 'The domain of the custom from-address, as connected (e.g. acme.com for support@acme.com)',
		},
		{
			displayName: 'DKIM Selector',
			name: 'selector',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'hostedinbox1',
			description: 'Names the DKIM record (<selector>._domainkey.<domain>); a new key needs a new selector (hostedinbox2, ...)',
		},
		{
			displayName: 'DKIM Private Key (PEM)',
			name: 'privateKey',
			type: 'string',
			typeOptions: { rows: 6, password: true },
			default: '',
			required: true,
			description:
				'An RSA key of 2048 bits you made yourself (-----BEGIN PRIVATE KEY----- ...): run "npx hosted-inbox sending-domain keygen" or "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048" and paste what it prints',
		},
	];
}
