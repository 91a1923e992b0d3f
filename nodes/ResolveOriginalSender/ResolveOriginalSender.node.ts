import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { resolveOriginalSender, type ResolveOptions } from '../../core/conversation/resolve';
import { intakeItemSchema } from '../../core/item';
import { storeCredentials, storeProperties } from '../shared/descriptions';
import { eachItem } from '../shared/items';
import { getStore } from '../shared/store';
import { resolveOriginalSenderProperties } from './description';

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
		properties: [...storeProperties, ...resolveOriginalSenderProperties],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const run = { outputs: 2, input: { schema: intakeItemSchema, expected: 'a Message item from the Hosted Inbox trigger' } };
		return await eachItem(this, run, async (item, i) => {
			const options: ResolveOptions = {
				createMissingContacts: this.getNodeParameter('createMissingContacts', i, true) as boolean,
				createCcContacts: this.getNodeParameter('createCcContacts', i, false) as boolean,
				untrustedSender: this.getNodeParameter('untrustedSender', i, 'createAndFlag') as ResolveOptions['untrustedSender'],
			};
			const outcome = await resolveOriginalSender(await getStore(this, i), item, options);
			if (outcome.status === 'resolved') return { part: { ...outcome.part } };
			return { part: { unknownSender: { address: outcome.address, reason: outcome.reason } }, output: 1 };
		});
	}
}
