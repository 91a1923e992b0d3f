import type { INodeProperties } from 'n8n-workflow';

/** The Resolve Original Sender fields, after the Store: which contacts to create, and what an untrusted original sender gets. */
export const resolveOriginalSenderProperties: INodeProperties[] = [
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
		description: 'Whether to also create contacts for the Cc addresses that are not agents, the inbox or the forwarder (the first 50 of a message)',
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
];
