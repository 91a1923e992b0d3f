import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { answeredMessageSchema } from '../../core/outbound/automatic';
import { OutboundError } from '../../core/outbound/errors';
import type { FromNameStyle } from '../../core/outbound/from-name';
import { sendTeamEmail, type TeamEmailRequest, type TeamEmailResult } from '../../core/outbound/send';
import { smtpSender } from '../../core/outbound/transport';
import { storeProperties } from '../shared/descriptions';
import { dnsResolver } from '../shared/environment';
import { eachItem, toNodeError } from '../shared/items';
import { dkimKeyFromCredential, SENDING_DOMAIN_CREDENTIAL, testSendingDomainCredential } from '../shared/sendingDomainCredential';
import { smtpSettingsFromCredential } from '../shared/smtpCredential';
import { getStore } from '../shared/store';
import { sendTeamEmailProperties } from './description';

function list(value: unknown): string[] {
	return String(value ?? '')
		.split(',')
		.map((a) => a.trim())
		.filter(Boolean);
}

export class SendTeamEmail implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Send Team Email',
		name: 'sendTeamEmail',
		icon: 'file:sendTeamEmail.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["mode"] === "new" ? "new conversation" : "reply"}}',
		description: 'Replies from the hosted inbox (or starts a conversation) with the team from-name, from-address and signature, threaded and recorded',
		defaults: { name: 'Send Team Email' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			// Spelled out (storeCredentials' entry): n8n's lint reads this array literally; `postgres` and `smtp` are n8n's built-in credentials.
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed, @n8n/community-nodes/valid-credential-references
			{ name: 'postgres', required: true, displayOptions: { show: { store: ['postgres'] } } },
			// eslint-disable-next-line @n8n/community-nodes/valid-credential-references
			{ name: 'smtp', required: true },
			{ name: 'hostedInboxSendingDomainApi', required: true, testedBy: 'hostedInboxSendingDomainTest', displayOptions: { show: { fromAddress: ['custom'] } } },
		],
		properties: [...storeProperties, ...sendTeamEmailProperties],
	};

	methods = { credentialTest: { hostedInboxSendingDomainTest: testSendingDomainCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const smtp = await this.getCredentials('smtp');
		const senders = new Map<boolean, ReturnType<typeof smtpSender>>();
		const resolver = dnsResolver();
		const run = { outputs: 1, input: { schema: answeredMessageSchema, expected: 'an item (a trigger item, for an automatic message)' } };
		try {
			return await eachItem(this, run, async (answering, i) => {
				const automatic = this.getNodeParameter('automatic', i, false) as boolean;
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				const insecure = options.allowUnauthorizedCerts === true;
				let sender = senders.get(insecure);
				if (!sender) senders.set(insecure, (sender = smtpSender(smtpSettingsFromCredential(smtp, insecure))));
				const custom = this.getNodeParameter('fromAddress', i, 'inbox') === 'custom';
				const key = custom ? await this.getCredentials(SENDING_DOMAIN_CREDENTIAL, i) : null;
				const newConversation = this.getNodeParameter('mode', i, 'reply') === 'new';
				const message = String(this.getNodeParameter('message', i, ''));
				const request: TeamEmailRequest = {
					inboxAddress: String(this.getNodeParameter('inbox', i, '') ?? ''),
					agent: String(this.getNodeParameter('agent', i, '') ?? ''),
					fromName: {
						style: this.getNodeParameter('fromNameStyle', i, 'agentAndCompany') as FromNameStyle,
						companyName: String(this.getNodeParameter('companyName', i, '')),
						separator: String(this.getNodeParameter('separator', i, ' at ')),
					},
					fromAddress: custom ? String(this.getNodeParameter('customFromAddress', i, '')) : null,
					conversationId: newConversation ? null : String(this.getNodeParameter('conversationId', i, '') ?? ''),
					newConversation: newConversation
						? {
								contactEmail: String(this.getNodeParameter('contactEmail', i, '')),
								contactName: String(this.getNodeParameter('contactName', i, '')) || null,
								subject: String(this.getNodeParameter('subject', i, '')),
							}
						: null,
					body: this.getNodeParameter('messageFormat', i, 'text') === 'html' ? { html: message } : { text: message },
					signature: String(this.getNodeParameter('signature', i, '')),
					extraTo: list(options.extraTo),
					cc: list(options.cc),
					automatic,
					answering,
				};
				const signingKey = key ? dkimKeyFromCredential(key) : null;
				const store = await getStore(this, i);
				let sent: TeamEmailResult;
				try {
					sent = await sendTeamEmail(request, { store, send: sender.send, signingKey, resolver });
				} catch (error) {
					// An automatic message that must not answer this mail is a normal outcome, not a failed item.
					if (error instanceof OutboundError && error.refusal === 'automatic-reply-refused') {
						return { part: { teamEmail: { sent: false, automatic, reason: error.message } } };
					}
					throw toNodeError(this.getNode(), error, i);
				}
				return {
					part: {
						teamEmail: {
							sent: true,
							messageId: sent.messageId,
							conversationId: sent.conversation.id,
							recordId: sent.message.id,
							from: sent.from,
							to: sent.to,
							cc: sent.cc,
							subject: sent.subject,
							inReplyTo: sent.inReplyTo,
							references: sent.references,
							agent: { id: sent.agent.id, email: sent.agent.email, fullName: sent.agent.fullName },
							dkim: sent.dkim,
							automatic,
							smtpResponse: sent.delivery.response,
							size: sent.size,
						},
					},
				};
			});
		} finally {
			for (const sender of senders.values()) sender.close();
		}
	}
}
