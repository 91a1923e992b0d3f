import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { limitField, returnAllField } from '../../shared/fields';
import { limited } from '../../shared/lookup';

export const getAll: Operation = {
	option: { name: 'Get Many', value: 'getAll', action: 'Get many teams', description: 'List teams with their members' },
	properties: [returnAllField, limitField],
	async execute(store, itemIndex) {
		return limited(this, itemIndex, await store.listTeams()).map(asData);
	},
};
