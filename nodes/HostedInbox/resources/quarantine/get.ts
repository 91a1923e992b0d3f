import { getQuarantined } from '../../../../core/quarantine/quarantine';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';
import { quarantineIdField } from './fields';

export const get: Operation = {
	option: { name: 'Get', value: 'get', action: 'Get a quarantined message', description: 'Get a held message with the decision it is held with' },
	properties: [quarantineIdField],
	async execute(store, itemIndex) {
		return asData(await getQuarantined(store, text(this, 'quarantineId', itemIndex)));
	},
};
