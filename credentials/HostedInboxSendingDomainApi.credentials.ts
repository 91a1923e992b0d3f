import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The DKIM key of a connected sending domain. Hosted Inbox > Sending Domain > Connect returns the private key once;
 * it lives here, encrypted by n8n, and never in the inbox store (which keeps the public key only).
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
			description: 'The selector Connect returned: the DKIM record lives at <selector>._domainkey.<domain>',
		},
		{
			displayName: 'DKIM Private Key (PEM)',
			name: 'privateKey',
			type: 'string',
			typeOptions: { rows: 6, password: true },
			default: '',
			required: true,
			description: 'The private key Connect returned (-----BEGIN PRIVATE KEY----- ...)',
		},
	];
}
