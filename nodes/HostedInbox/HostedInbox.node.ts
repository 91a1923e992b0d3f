import {
	NodeConnectionTypes,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { storeProperties, toNodeError } from '../shared/descriptions';
import { testSendingDomainCredential } from '../shared/sendingDomainCredential';
import { getStore } from '../shared/store';
import { resources } from './resources';
import { findOperation, isToolNode, resourceParameter, resourceProperties } from './shared/operation';

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
		properties: [...storeProperties, resourceParameter(resources), ...resources.flatMap(resourceProperties)],
	};

	methods = { credentialTest: { hostedInboxSendingDomainTest: testSendingDomainCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const returnData: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				const resource = this.getNodeParameter('resource', itemIndex) as string;
				const operationName = this.getNodeParameter('operation', itemIndex) as string;
				const operation = findOperation(resources, resource, operationName);
				if (!operation) {
					throw new NodeOperationError(this.getNode(), `The operation "${operationName}" of resource "${resource}" is not supported`, { itemIndex });
				}
				if (operation.secret && isToolNode(this.getNode().type)) {
					throw new NodeOperationError(this.getNode(), `"${operation.option.name}" (${resource}) reads a secret credential and is not available to AI agents: run it in a workflow of its own`, { itemIndex });
				}
				const store = await getStore(this, itemIndex);
				const result = await operation.execute.call(this, store, itemIndex);
				const records = result === null ? [] : Array.isArray(result) ? result : [result];
				returnData.push(...records.map((json) => ({ json, pairedItem: { item: itemIndex } })));
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, itemIndex);
				if (!this.continueOnFail()) throw nodeError;
				returnData.push({ json: { error: nodeError.message }, pairedItem: { item: itemIndex } });
			}
		}
		return [returnData];
	}
}
