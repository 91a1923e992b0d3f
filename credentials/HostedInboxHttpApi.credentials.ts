import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** The secrets the hosted inbox's HTTP door checks each post against: whichever the chosen HTTP format uses. */
export class HostedInboxHttpApi implements ICredentialType {
	name = 'hostedInboxHttpApi';

	displayName = 'Hosted Inbox HTTP Door API';

	documentationUrl = 'https://github.com/hosted-inbox/n8n-nodes-hosted-inbox/blob/main/docs/http-door.md';

	icon = 'file:hostedInbox.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Sent as "Authorization: Bearer <token>", or as the password of Basic auth in the URL for providers that only take credentials there (SendGrid, Postmark; Mailgun and Amazon SNS are checked against it too when it is set). Use a long random value.',
		},
		{
			displayName: 'HMAC Secret',
			name: 'hmacSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Raw MIME only, instead of the token: each post is signed with HMAC-SHA256 (X-Hosted-Inbox-Timestamp and X-Hosted-Inbox-Signature headers)',
		},
		{
			displayName: 'Mailgun HTTP Webhook Signing Key',
			name: 'mailgunSigningSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: "Mailgun only: the key each post's signature is checked with (Mailgun > Sending > Webhooks > HTTP webhook signing key)",
		},
	];
}
