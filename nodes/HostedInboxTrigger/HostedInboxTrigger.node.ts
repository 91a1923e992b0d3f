import {
	NodeConnectionTypes,
	NodeOperationError,
	type INodeType,
	type INodeTypeDescription,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { storeProperties } from '../shared/descriptions';
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
};

export class HostedInboxTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Hosted Inbox Trigger',
		name: 'hostedInboxTrigger',
		icon: 'file:hostedInbox.svg',
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["receiveVia"] === "imap" ? "IMAP mailbox" : $parameter["forwardingLocalPart"] + "@" + $parameter["forwardingDomain"]}}',
		description: 'Receives the mail of a hosted inbox: a forwarding address (SMTP) or a mailbox (IMAP), with security checks',
		defaults: { name: 'Hosted Inbox Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
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
				],
				default: 'smtp',
			},
			...smtpProperties,
			...imapProperties,
			...inboxSettingsProperties,
			...outputOptionsProperties,
		],
	};

	methods = { credentialTest: { hostedInboxSmtpListenerTest: testSmtpListenerCredential } };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const via = this.getNodeParameter('receiveVia', 'smtp') as string;
		const start = MODES[via];
		if (!start) throw new NodeOperationError(this.getNode(), `Receiving via "${via}" is not available in this version`);
		return await start.call(this);
	}
}
