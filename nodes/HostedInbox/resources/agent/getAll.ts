import type { Availability } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { filtersCollection, limitField, returnAllField } from '../../shared/fields';
import { limited } from '../../shared/lookup';

export const getAll: Operation = {
	option: { name: 'Get Many', value: 'getAll', action: 'Get many agents', description: 'List agents, optionally by status or availability' },
	properties: [
		returnAllField,
		limitField,
		filtersCollection([
			{
				displayName: 'Availability',
				name: 'availability',
				type: 'options',
				options: [
					{ name: 'Available', value: 'available' },
					{ name: 'Away', value: 'away' },
				],
				default: 'available',
			},
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: [
					{ name: 'Active', value: 'active' },
					{ name: 'Deactivated', value: 'deactivated' },
				],
				default: 'active',
			},
		]),
	],
	async execute(store, itemIndex) {
		const filters = this.getNodeParameter('filters', itemIndex, {}) as { availability?: Availability; status?: 'active' | 'deactivated' };
		const agents = await store.listAgents({
			...(filters.availability ? { availability: filters.availability } : {}),
			...(filters.status ? { active: filters.status === 'active' } : {}),
		});
		return limited(this, itemIndex, agents).map(asData);
	},
};
