import { releaseQuarantined } from '../../../../core/quarantine/quarantine';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';
import { quarantineIdField } from './fields';

export const release: Operation = {
	option: {
		name: 'Release',
		value: 'release',
		action: 'Release a quarantined message',
		description: 'Let a held message through: the inbox\'s active trigger emits it once from its Message output within seconds',
	},
	properties: [
		quarantineIdField,
		{
			displayName: 'Released By',
			name: 'releasedBy',
			type: 'string',
			default: '',
			placeholder: 'ana@company.com',
			description: 'Who let it through, kept with the message (its item says so); empty names this workflow',
		},
	],
	async execute(store, itemIndex) {
		const by = text(this, 'releasedBy', itemIndex) || `n8n workflow "${this.getWorkflow().name ?? this.getWorkflow().id}"`;
		return asData(await releaseQuarantined(store, text(this, 'quarantineId', itemIndex), by));
	},
};
