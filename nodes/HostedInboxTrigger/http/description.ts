import type { INodeProperties } from 'n8n-workflow';

const http = { show: { receiveVia: ['http'] } };

/** Parameters of "Receive via: HTTP (webhook)" (the secrets are the Hosted Inbox HTTP Door credential). */
export const httpProperties: INodeProperties[] = [
	{
		displayName:
			"Post the mail to this node's Production URL (above): from your MTA with \"hosted-inbox deliver\", a Cloudflare Email Worker, or an inbound provider's webhook. The answer is 2xx only once the message is kept in the store; a message a run has not recorded yet is emitted again later.",
		name: 'httpNotice',
		type: 'notice',
		default: '',
		displayOptions: http,
	},
	{
		displayName: 'HTTP Format',
		name: 'httpFormat',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Amazon SES via SNS',
				value: 'ses',
				description: 'An SES receipt rule publishing to an SNS topic with an HTTPS subscription to this URL (token as Basic auth password in the URL)',
			},
			{
				name: 'Mailgun',
				value: 'mailgun',
				description: 'A Mailgun route forward() to this URL (…/mime), checked with the webhook signing key',
			},
			{
				name: 'Postmark',
				value: 'postmark',
				description: 'Postmark inbound webhook with "Include raw email content in JSON payload" (token as Basic auth password in the URL)',
			},
			{
				name: 'Raw MIME (Postfix/Exim Pipe, Cloudflare Email Worker)',
				value: 'raw',
				description: 'A message/rfc822 body, its envelope in X-Envelope-* headers; Bearer token or HMAC signature',
			},
			{
				name: 'SendGrid',
				value: 'sendgrid',
				description: 'SendGrid Inbound Parse with "POST the raw, full MIME message" (token as Basic auth password in the URL)',
			},
		],
		default: 'raw',
		displayOptions: http,
	},
	{
		displayName: 'Inbox Address',
		name: 'httpAddress',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'support@company.com',
		description: 'The address the posted mail is for: the hosted inbox its conversations belong to',
		displayOptions: http,
	},
	{
		displayName: 'Path',
		name: 'httpPath',
		type: 'string',
		default: '',
		placeholder: 'mail/inbound',
		description: "The webhook path after /webhook/; empty: this node's own random ID",
		displayOptions: http,
	},
	{
		displayName: 'SNS Topic ARNs',
		name: 'snsTopicArns',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'arn:aws:sns:eu-west-1:123456789012:inbound-mail',
		description: 'Comma-separated topics allowed to post here: anyone can sign SNS messages for a topic of their own',
		displayOptions: { show: { receiveVia: ['http'], httpFormat: ['ses'] } },
	},
	{
		displayName: 'HTTP Settings',
		name: 'httpSettings',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		displayOptions: http,
		options: [
			{
				displayName: 'Emit Again After (Seconds)',
				name: 'redriveAfterSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 600,
				description:
					'A message is done once Resolve Original Sender records it. One its own run has not recorded by then (n8n restarted, the run failed, no Resolve Original Sender in the workflow) is emitted again by the active workflow, with retries. Forwarding confirmations and tests, which no step records, are emitted by the active workflow at once.',
			},
			{
				displayName: 'Signature Freshness (Seconds)',
				name: 'maxSkewSeconds',
				type: 'number',
				typeOptions: { minValue: 30, maxValue: 3600 },
				default: 300,
				description: 'Signed posts (Mailgun, HMAC) older or newer than this are refused (401), and a signature is accepted once within it',
			},
		],
	},
];
