import type { INodeProperties } from 'n8n-workflow';

const smtp = { show: { receiveVia: ['smtp'] } };

/** Parameters of "Receive via: SMTP (hosted forwarding address)". */
export const smtpProperties: INodeProperties[] = [
	{
		displayName:
			'Add the forwarding address below at your mail provider (Google Group, alias, Microsoft 365 shared mailbox, any provider). If the provider sends a confirmation code, it comes out on the Forwarding confirmation output. The domain\'s MX record must point at this n8n host.',
		name: 'forwardingNotice',
		type: 'notice',
		default: '',
		displayOptions: smtp,
	},
	{
		displayName: 'Forwarding Address Name',
		name: 'forwardingLocalPart',
		type: 'string',
		required: true,
		default: 'support',
		description: 'The part before the @ of the hosted forwarding address',
		displayOptions: smtp,
	},
	{
		displayName: 'Forwarding Address Domain',
		name: 'forwardingDomain',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'inbox.company.com',
		description: 'The intake domain whose MX points at this n8n host; the forwarding address is name@domain',
		displayOptions: smtp,
	},
	{
		displayName: 'Listen on Host',
		name: 'smtpHost',
		type: 'string',
		default: '0.0.0.0',
		description: 'Interface to listen on (0.0.0.0: all)',
		displayOptions: smtp,
	},
	{
		displayName: 'Port',
		name: 'smtpPort',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 65535 },
		default: 2525,
		description:
			'2525 starts without privileges; expose it as port 25 with a port mapping (Docker -p 25:2525) or a firewall redirect. Several Hosted Inbox Triggers may share one port.',
		displayOptions: smtp,
	},
	{
		displayName:
			'Without a TLS certificate in the SMTP listener credential, STARTTLS uses a public test certificate: fine for trying it out, not for production',
		name: 'tlsNotice',
		type: 'notice',
		default: '',
		displayOptions: smtp,
	},
	{
		displayName: 'Listener Settings',
		name: 'smtpSettings',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		displayOptions: smtp,
		options: [
			{
				displayName: 'Idle Timeout (Seconds)',
				name: 'socketTimeoutSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 60,
				description: 'A client that sends nothing for this long is disconnected (421)',
			},
			{
				displayName: 'Max Connections',
				name: 'maxConnections',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 100,
				description: 'Connections beyond this are answered 421 (try again later)',
			},
			{
				displayName: 'Max Recipients per Message',
				name: 'maxRecipients',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description: 'Recipients beyond this are answered 452 4.5.3',
			},
			{
				displayName: 'Require TLS',
				name: 'requireTls',
				type: 'boolean',
				default: false,
				description: 'Whether to refuse mail from clients that did not switch to TLS with STARTTLS (530 5.7.0)',
			},
			{
				displayName: 'Server Name',
				name: 'serverName',
				type: 'string',
				default: '',
				placeholder: 'mx.inbox.company.com',
				description: "Host name in the greeting and EHLO answer (default: the machine's name)",
			},
		],
	},
];
