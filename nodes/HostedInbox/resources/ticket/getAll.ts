import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { limitField, returnAllField } from '../../shared/fields';
import { limited } from '../../shared/lookup';

export const getAll: Operation = {
	option: { name: 'Get Many', value: 'getAll', action: 'Get many tickets', description: 'List tickets by stage or state' },
	properties: [
		returnAllField,
		limitField,
		{
			displayName: 'Filters',
			name: 'filters',
			type: 'collection',
			placeholder: 'Add Filter',
			default: {},
			options: [
				{ displayName: 'Stage', name: 'stage', type: 'string', default: '' },
				{
					displayName: 'State',
					name: 'state',
					type: 'options',
					options: [
						{ name: 'Closed', value: 'closed' },
						{ name: 'Open', value: 'open' },
					],
					default: 'open',
				},
			],
		},
	],
	async execute(store, itemIndex) {
		const filters = this.getNodeParameter('filters', itemIndex, {}) as { stage?: string; state?: 'open' | 'closed' };
		const tickets = await store.listTickets({
			...(filters.stage?.trim() ? { stage: filters.stage.trim() } : {}),
			...(filters.state ? { open: filters.state === 'open' } : {}),
		});
		return limited(this, itemIndex, tickets).map(asData);
	},
};
