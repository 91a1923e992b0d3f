import { deleteQuarantined } from '../../../../core/quarantine/quarantine';
import type { Operation } from '../../shared/operation';
import { text } from '../../shared/lookup';
import { quarantineIdField } from './fields';

export const deleteMessage: Operation = {
	option: { name: 'Delete', value: 'delete', action: 'Delete a quarantined message', description: 'Delete a held message for good (its intake-log entry stays)' },
	properties: [quarantineIdField],
	async execute(store, itemIndex) {
		return await deleteQuarantined(store, text(this, 'quarantineId', itemIndex));
	},
};
