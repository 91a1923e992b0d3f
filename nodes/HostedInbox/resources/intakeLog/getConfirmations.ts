import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { intakeFilters, listIntake } from './list';

export const getConfirmations: Operation = {
	option: {
		name: 'Get Forwarding Confirmations',
		value: 'getConfirmations',
		action: 'Get forwarding confirmations',
		description: 'List the confirmation emails mail providers sent to the forwarding address (provider, code, link), newest first',
	},
	properties: intakeFilters,
	async execute(store, itemIndex) {
		return (await listIntake(this, store, itemIndex, ['forwarding-confirmation'])).map(asData);
	},
};
