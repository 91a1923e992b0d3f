import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** What the hosted inbox's SMTP listener presents and asks for: its TLS certificate, and the login of intake relays. */
export class HostedInboxSmtpListenerApi implements ICredentialType {
	name = 'hostedInboxSmtpListenerApi';

	displayName = 'Hosted Inbox SMTP Listener';

	documentationUrl = 'https://github.com/hosted-inbox/n8n-nodes-hosted-inbox#hosted-inbox-trigger-smtp';

	icon = 'file:hostedInbox.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'TLS Certificate (PEM)',
			name: 'tlsPublicCertificate',
			type: 'string',
			typeOptions: { rows: 6 },
			default: '',
			description:
				"Certificate chain for STARTTLS. Empty: the listener presents a self-signed certificate made for this n8n install, and refuses AUTH.",
		},
		{
			displayName: 'TLS Private Key (PEM)',
			name: 'tlsPrivateKey',
			type: 'string',
			typeOptions: { rows: 6, password: true },
			default: '',
		},
		{
			displayName: 'AUTH User',
			name: 'authUser',
			type: 'string',
			default: '',
			description:
				'When set, clients must authenticate with this user and password (an intake relay in front of n8n). Needs the TLS certificate above: without it AUTH is refused.',
		},
		{
			displayName: 'AUTH Password',
			name: 'authPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
	];
}
