import {
	NodeConnectionTypes,
	NodeOperationError,
	type INodeType,
	type INodeTypeDescription,
	type ITriggerFunctions,
	type ITriggerResponse,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { storeProperties } from '../shared/descriptions';
import { testHttpDoorCredential } from './http/credential-test';
import { httpProperties } from './http/description';
import { receiveHttp, startHttpMode } from './http/mode';
import { imapProperties } from './imap/description';
import { startImapMode } from './imap/mode';
import { inboxSettingsProperties } from './shared/inbox-settings';
import { OUTPUT_NAMES, outputOptionsProperties } from './shared/outputs';
import { testSmtpListenerCredential } from './smtp/credential-test';
import { smtpProperties } from './smtp/description';
import { startSmtpMode } from './smtp/mode';

/** Each way of receiving mail: its parameters and how it starts. Both feed the same pipeline and outputs. */
const MODES: Record<string, (this: ITriggerFunctions) => Promise<ITriggerResponse>> = {
	smtp: startSmtpMode,
	imap: startImapMode,
	http: startHttpMode,
};

/** Only "Receive via: HTTP" has a webhook: an empty method registers none in the other modes (n8n skips it). */
const HTTP_ONLY = '={{$parameter["receiveVia"] === "http" ? "POST" : ""}}';

// No webhookMethods: nothing is registered at a third party (the MTA or provider is pointed at the URL by its admin).
// eslint-disable-next-line @n8n/community-nodes/webhook-lifecycle-complete
export class HostedInboxTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Hosted Inbox Trigger',
		name: 'hostedInboxTrigger',
		icon: 'file:hostedInbox.svg',
		group: ['trigger'],
		version: 1,
		subtitle:
			'={{$parameter["receiveVia"] === "imap" ? "IMAP mailbox" : $parameter["receiveVia"] === "http" ? "HTTP: " + $parameter["httpAddress"] : $parameter["forwardingLocalPart"] + "@" + $parameter["forwardingDomain"]}}',
		description: 'Receives the mail of a hosted inbox: a forwarding address (SMTP), a mailbox (IMAP) or posts over HTTP, with security checks',
		defaults: { name: 'Hosted Inbox Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		// n8n registers a node's webhooks and runs its trigger() alike when the workflow is activated: the webhook takes
		// the posts (on every webhook process), the trigger keeps the inbox (on the leader).
		webhooks: [
			{
				name: 'default',
				httpMethod: HTTP_ONLY,
				responseMode: 'onReceived',
				path: '={{$parameter["httpPath"]}}',
				isFullPath: true,
				ndvHideUrl: '={{$parameter["receiveVia"] !== "http"}}',
				ndvHideMethod: true,
			},
		],
		outputNames: OUTPUT_NAMES,
		credentials: [
			// Spelled out (storeCredentials' entry): n8n's lint reads this array literally; `postgres` is n8n's built-in credential.
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed, @n8n/community-nodes/valid-credential-references
			{ name: 'postgres', required: true, displayOptions: { show: { store: ['postgres'] } } },
			{
				name: 'hostedInboxSmtpListenerApi',
				required: false,
				testedBy: 'hostedInboxSmtpListenerTest',
				displayOptions: { show: { receiveVia: ['smtp'] } },
			},
			// n8n's built-in IMAP credential (user, password, host, port, secure, allowUnauthorizedCerts): users already have one.
			// eslint-disable-next-line @n8n/community-nodes/valid-credential-references
			{ name: 'imap', required: true, displayOptions: { show: { receiveVia: ['imap'] } } },
			{
				name: 'hostedInboxHttpApi',
				required: true,
				testedBy: 'hostedInboxHttpTest',
				displayOptions: { show: { receiveVia: ['http'] } },
			},
		],
		properties: [
			...storeProperties,
			{
				displayName: 'Receive Via',
				name: 'receiveVia',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'SMTP (Hosted Forwarding Address)',
						value: 'smtp',
						description: 'Mail forwarded by your provider arrives at a listener in n8n',
					},
					{ name: 'IMAP Mailbox', value: 'imap', description: 'Mail is taken from a mailbox you already host' },
					{
						name: 'HTTP (Webhook)',
						value: 'http',
						description: 'Mail is posted to this node: by your MTA, a Cloudflare Email Worker, Mailgun, SendGrid, Postmark or Amazon SES',
					},
				],
				default: 'smtp',
			},
			...smtpProperties,
			...imapProperties,
			...httpProperties,
			...inboxSettingsProperties,
			...outputOptionsProperties,
		],
	};

	methods = { credentialTest: { hostedInboxSmtpListenerTest: testSmtpListenerCredential, hostedInboxHttpTest: testHttpDoorCredential } };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		if (this.getNodeParameter('receiveVia', 'smtp') !== 'http') {
			// Not registered in the other modes; should n8n call it anyway, nothing is taken and no run starts.
			const res = this.getResponseObject();
			res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' });
			res.end(JSON.stringify({ status: 'not-found', reply: 'This Hosted Inbox Trigger does not receive mail over HTTP' }));
			return { noWebhookResponse: true };
		}
		return await receiveHttp.call(this);
	}

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const via = this.getNodeParameter('receiveVia', 'smtp') as string;
		const start = MODES[via];
		if (!start) throw new NodeOperationError(this.getNode(), `Receiving via "${via}" is not available in this version`);
		return await start.call(this);
	}
}
