import type { INodeCredentialDescription, INodeProperties } from 'n8n-workflow';

import { DEFAULT_SCHEMA } from '../../core/store/postgres';

/** The Store parameter every node shows, first, the same way (spread into the node's properties). */
export const storeProperties: INodeProperties[] = [
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Embedded',
				value: 'embedded',
				description: 'A file in n8n\'s data folder; zero setup, for a single n8n process (not queue mode)',
			},
			{
				name: 'PostgreSQL',
				value: 'postgres',
				description: 'A PostgreSQL database shared by n8n\'s main process and its workers (needed in queue mode)',
			},
		],
		default: 'embedded',
		description: 'Where the inbox keeps contacts, agents, conversations and tickets',
	},
	{
		displayName: 'Schema',
		name: 'storeSchema',
		type: 'string',
		default: DEFAULT_SCHEMA,
		displayOptions: { show: { store: ['postgres'] } },
		description: 'PostgreSQL schema holding the inbox tables (created on first use), so that n8n\'s own database can host them',
	},
];

/** The credential that goes with the Store parameter: n8n's built-in Postgres credential, only for the PostgreSQL store. */
export const storeCredentials: INodeCredentialDescription[] = [
	{
		name: 'postgres',
		required: true,
		displayOptions: { show: { store: ['postgres'] } },
	},
];
