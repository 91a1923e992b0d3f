import type { INodeProperties } from 'n8n-workflow';

export const quarantineIdField: INodeProperties = {
	displayName: 'Quarantine ID',
	name: 'quarantineId',
	type: 'string',
	required: true,
	default: '',
	description: 'The ID of the held message (from Get Many, the intake log\'s spoolId, or the 250 2.6.0 reply)',
};
