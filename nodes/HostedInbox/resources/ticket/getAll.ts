import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { filtersCollection, limitField, openClosedOption, returnAllField } from '../../shared/fields';
import { limited } from '../../shared/lookup';

export const getAll: Operation = {
	option: { name: 'Get Many', value: 'getAll', action: 'Get many tickets', description: 'List tickets by stage or state' },
	properties: [
		returnAllField,
		limitField,
		filtersCollection([{ displayName: 'Stage', name: 'stage', type: 'string', default: '' }, openClosedOption('State', 'state')]),
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
