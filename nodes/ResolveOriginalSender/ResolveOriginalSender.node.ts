import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { resolveOriginalSender, type ResolveOptions } from '../../core/conversation/resolve';
import { intakeItemSchema, parseItem } from '../../core/item';
import { storeCredentials, storeProperties } from '../shared/descriptions';
import { failedItem, withPart } from '../shared/pipelineItem';
import { getStore } from '../shared/store';

export class ResolveOriginalSender implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Resolve Original Sender',
		name: 'resolveOriginalSender',
		icon: { light: 'file:resolveOriginalSender.svg', dark: 'file:resolveOriginalSender.dark.svg' },
		group: ['transform'],
		usableAsTool: true,
		version: 1,
		subtitle: '={{$parameter["createMissingContacts"] ? "find or create contact" : "find contact"}}',
		description: 'Files an incoming email under the contact of its original author (not the forwarder) and threads it into a conversation',
		defaults: { name: 'Resolve Original Sender' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Resolved', 'Unknown Sender'],
		credentials: storeCredentials,
		properties: [
			...storeProperties,
			{
				displayName: 'Create Missing Contacts',
				name: 'createMissingContacts',
				type: 'boolean',
				default: true,
				description:
					'Whether to create a contact for an original author who is not one yet. When off, such messages go to the Unknown Sender output and nothing is recorded.',
			},
			{
				displayName: "Create Contacts for CC'd External Addresses",
				name: 'createCcContacts',
				type: 'boolean',
				default: false,
				description: 'Whether to also create contacts for the Cc addresses that are not agents, the inbox or the forwarder',
			},
			{
				displayName: 'Untrusted Original Sender',
				name: 'untrustedSender',
				type: 'options',
				default: 'createAndFlag',
				description:
					'What to do when the original sender could not be authenticated (e.g. a list rewrite whose list message was not signed). Trust itself is set in the trigger inbox settings.',
				options: [
					{
						name: 'Create and Flag',
						value: 'createAndFlag',
						description: 'File under the named original sender, with contact.flagged and the reason',
					},
					{
						name: 'Keep the Outer Sender',
						value: 'keepOuterSender',
						description: 'File under the address that actually sent the message (the list or forwarder)',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const resolved: INodeExecutionData[] = [];
		const unknown: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const item = parseItem(intakeItemSchema, 'a Message item from the Hosted Inbox trigger', items[i].json);
				const options: ResolveOptions = {
					createMissingContacts: this.getNodeParameter('createMissingContacts', i, true) as boolean,
					createCcContacts: this.getNodeParameter('createCcContacts', i, false) as boolean,
					untrustedSender: this.getNodeParameter('untrustedSender', i, 'createAndFlag') as ResolveOptions['untrustedSender'],
				};
				const outcome = await resolveOriginalSender(await getStore(this, i), item, options);
				if (outcome.status === 'resolved') resolved.push(withPart(items[i], { ...outcome.part }, i));
				else unknown.push(withPart(items[i], { unknownSender: { address: outcome.address, reason: outcome.reason } }, i));
			} catch (error) {
				resolved.push(failedItem(this, items[i], error, i));
			}
		}
		return [resolved, unknown];
	}
}
