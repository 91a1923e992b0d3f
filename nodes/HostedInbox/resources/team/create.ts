import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';

export const create: Operation = {
	option: { name: 'Create', value: 'create', action: 'Create a team', description: 'Create a team of agents' },
	properties: [
		{
			displayName: 'Name',
			name: 'name',
			type: 'string',
			required: true,
			default: '',
		},
	],
	async execute(store, itemIndex) {
		return asData(await store.createTeam(text(this, 'name', itemIndex)));
	},
};
