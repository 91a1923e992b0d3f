import type { INodeProperties, ITriggerFunctions, IWebhookFunctions } from 'n8n-workflow';

import {
	DEFAULT_INTAKE_DEADLINE_SECONDS,
	DEFAULT_TRUSTED_ARC_SEALERS,
	DEFAULT_TRUSTED_LIST_DOMAINS,
	MAX_INTAKE_DEADLINE_SECONDS,
	parseInboxConfig,
	type InboxConfig,
} from '../../../core/inbox';

/**
 * The inbox's trust settings (the one place they are set): shared by both ways of receiving mail.
 * The hosted address itself comes from the mode (SMTP: forwarding address; IMAP: the mailbox's address).
 */
export const inboxSettingsProperties: INodeProperties[] = [
	{
		displayName: 'Security Checks',
		name: 'security',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		options: [
			{
				displayName: 'DMARC Policy',
				name: 'dmarcPolicy',
				type: 'options',
				options: [
					{
						name: 'Enforce',
						value: 'enforce',
						description: "Reject or quarantine per the sender's DMARC policy",
					},
					{
						name: 'Accept Everything, Only Flag',
						value: 'monitor',
						description: 'Monitoring mode for the first days of a setup: nothing is refused, failures are flagged on the item',
					},
				],
				default: 'enforce',
			},
			{
				displayName: 'Intake Deadline (Seconds)',
				name: 'intakeDeadlineSeconds',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: MAX_INTAKE_DEADLINE_SECONDS },
				default: DEFAULT_INTAKE_DEADLINE_SECONDS,
				description: 'Time the checks of one message may take, DNS included; past it the sender is answered 451 4.7.0 and retries',
			},
			{
				displayName: 'Internal Addresses',
				name: 'internalAddresses',
				type: 'string',
				default: '',
				placeholder: 'alex@gmail.com, sam@outlook.com',
				description: 'Comma-separated single addresses of the team outside the internal domains',
			},
			{
				displayName: 'Internal Domains',
				name: 'internalDomains',
				type: 'string',
				default: '',
				placeholder: 'company.com',
				description:
					'Comma-separated domains whose senders are the team itself: an authenticated manual forward by them files the mail under the original author. A subdomain counts only when listed too.',
			},
			{
				displayName: 'Maximum Message Size (MB)',
				name: 'maxMessageMb',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 100 },
				default: 30,
				description: 'Larger messages are refused (552 5.3.4), attachments included',
			},
			{
				displayName: 'On DNS Error',
				name: 'onDnsError',
				type: 'options',
				options: [
					{ name: 'Accept and Flag', value: 'accept' },
					{ name: 'Defer (451, the Sender Retries)', value: 'defer' },
				],
				default: 'accept',
				description: 'What to do when SPF, DKIM or DMARC cannot be checked because DNS failed',
			},
			{
				displayName: 'On Malformed From',
				name: 'onMalformedFrom',
				type: 'options',
				options: [
					{ name: 'Quarantine', value: 'quarantine' },
					{ name: 'Refuse (550 5.7.1)', value: 'reject' },
				],
				default: 'quarantine',
				description:
					'A From that is not exactly one mailbox (none, several, a group) or a header section that cannot be read: the author is unknown, so the message is never filed under the envelope sender',
			},
			{
				displayName: 'Trusted ARC Sealers',
				name: 'trustedArcSealers',
				type: 'string',
				default: DEFAULT_TRUSTED_ARC_SEALERS.join(', '),
				description:
					'Comma-separated domains whose passing ARC chain rescues a DMARC failure caused by forwarding, when the seal records that the mail authenticated on arrival. Leave out services where anyone can open a tenant.',
			},
			{
				displayName: 'Trusted Authentication-Results Servers',
				name: 'trustedAuthservIds',
				type: 'string',
				default: '',
				placeholder: 'mx.company.com',
				description:
					"Comma-separated authserv-IDs whose topmost Authentication-Results header is trusted: over SMTP only from a Trusted Relay (any client can write that header); over IMAP the mailbox server's own",
			},
			{
				displayName: 'Trusted List Domains',
				name: 'trustedListDomains',
				type: 'string',
				default: DEFAULT_TRUSTED_LIST_DOMAINS.join(', '),
				description:
					"Comma-separated mailing-list domains whose rewrite (\"'Jane' via Support\", X-Original-From) names a trusted poster when the list's own DKIM passes. Other lists' posters are named but flagged untrusted.",
			},
			{
				displayName: 'Trusted Relays',
				name: 'trustedRelays',
				type: 'string',
				default: '',
				placeholder: '192.0.2.0/24',
				description:
					'Comma-separated IP ranges (CIDR) of relays in front of this inbox that do not ARC-seal; their Authentication-Results count when they carry a Trusted Authentication-Results Server ID',
			},
		],
	},
	{
		displayName: 'Retention',
		name: 'retention',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		// The defaults are core/inbox.ts DEFAULT_RETENTION (the linter wants literals here).
		description: 'How long the store keeps what this inbox holds, purged at activation and daily; 0 keeps it for ever. Pending and failed deliveries are never purged.',
		options: [
			{
				displayName: 'Delivered Messages (Days)',
				name: 'deliveredRawDays',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 30,
				description: 'Raw messages the workflow has received are deleted from the spool this many days after they arrived (what the workflow recorded stays)',
			},
			{
				displayName: 'Intake Log (Days)',
				name: 'intakeLogDays',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 90,
				description: 'Entries of refused, held and deferred mail and forwarding confirmations are deleted after this many days',
			},
			{
				displayName: 'Quarantine (Days)',
				name: 'quarantineDays',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 30,
				description: 'Held messages nobody released or deleted are deleted this many days after they arrived',
			},
		],
	},
];

function list(value: unknown): string[] {
	return String(value ?? '')
		.split(/[,\s]+/)
		.map((part) => part.trim())
		.filter(Boolean);
}

/** The inbox configuration from the node's settings; invalid values are an error naming the field. */
export function readInboxConfig(context: ITriggerFunctions | IWebhookFunctions, address: string): InboxConfig {
	const security = context.getNodeParameter('security', {}) as Record<string, unknown>;
	const retention = context.getNodeParameter('retention', {}) as Record<string, unknown>;
	return parseInboxConfig({
		address,
		internalDomains: list(security.internalDomains),
		internalAddresses: list(security.internalAddresses),
		trustedArcSealers: security.trustedArcSealers === undefined ? DEFAULT_TRUSTED_ARC_SEALERS : list(security.trustedArcSealers),
		trustedListDomains: security.trustedListDomains === undefined ? DEFAULT_TRUSTED_LIST_DOMAINS : list(security.trustedListDomains),
		trustedRelays: list(security.trustedRelays),
		trustedAuthservIds: list(security.trustedAuthservIds),
		dmarcPolicy: security.dmarcPolicy ?? 'enforce',
		onDnsError: security.onDnsError ?? 'accept',
		onMalformedFrom: security.onMalformedFrom ?? 'quarantine',
		maxMessageBytes: Math.round(Number(security.maxMessageMb ?? 30) * 1024 * 1024),
		intakeDeadlineSeconds: Number(security.intakeDeadlineSeconds ?? DEFAULT_INTAKE_DEADLINE_SECONDS),
		retention,
	});
}
