import {
	NodeConnectionTypes,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { storeProperties } from '../shared/descriptions';
import { eachItem } from '../shared/items';
import { testSendingDomainCredential } from '../shared/sendingDomainCredential';
import { getStore } from '../shared/store';
import { hostedInboxProperties } from './description';
import { resources } from './resources';
import { findOperation, isToolNode } from './shared/operation';

export class HostedInbox implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Hosted Inbox',
		name: 'hostedInbox',
		icon: { light: 'file:hostedInbox.svg', dark: 'file:hostedInbox.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Manage the hosted inbox: inboxes, agents, teams, contacts, conversations, tickets, the intake log, the quarantine, failed messages and inbox health',
		defaults: { name: 'Hosted Inbox' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Spelled out (storeCredentials' entry): n8n's lint reads this array literally; `postgres` and `smtp` are n8n's built-in credentials.
		credentials: [
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed, @n8n/community-nodes/valid-credential-references
			{ name: 'postgres', required: true, displayOptions: { show: { store: ['postgres'] } } },
			// n8n's built-in SMTP credential sends the forwarding test, as n8n's Send Email node would.
			// eslint-disable-next-line @n8n/community-nodes/valid-credential-references
			{ name: 'smtp', required: true, displayOptions: { show: { resource: ['forwarding'], operation: ['verify'] } } },
			// The DKIM key the user made: Connect derives the public key from it and outputs only the DNS records.
			{
				name: 'hostedInboxSendingDomainApi',
				required: true,
				testedBy: 'hostedInboxSendingDomainTest',
				displayOptions: { show: { resource: ['sendingDomain'], operation: ['connect'] } },
			},
		],
		properties: [...storeProperties, ...hostedInboxProperties],
	};

	methods = { credentialTest: { hostedInboxSendingDomainTest: testSendingDomainCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// The operations take their input from their parameters, not from the item's JSON.
		return await eachItem(this, { outputs: 1 }, async (_json, itemIndex) => {
			const resource = this.getNodeParameter('resource', itemIndex) as string;
			const operationName = this.getNodeParameter('operation', itemIndex) as string;
			const operation = findOperation(resources, resource, operationName);
			if (!operation) {
				throw new NodeOperationError(this.getNode(), `The operation "${operationName}" of resource "${resource}" is not supported`, { itemIndex });
			}
			if (operation.secret && isToolNode(this.getNode().type)) {
				throw new NodeOperationError(this.getNode(), `"${operation.option.name}" (${resource}) reads a secret credential and is not available to AI agents: run it in a workflow of its own`, { itemIndex });
			}
			const result = await operation.execute.call(this, await getStore(this, itemIndex), itemIndex);
			return { records: result === null ? [] : Array.isArray(result) ? result : [result] };
		});
	}
}
