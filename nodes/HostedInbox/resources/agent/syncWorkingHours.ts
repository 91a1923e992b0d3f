import { syncAvailabilityWithWorkingHours } from '../../../../core/routing/availability';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';

export const syncWorkingHours: Operation = {
	option: {
		name: 'Sync Availability With Working Hours',
		value: 'syncWorkingHours',
		action: 'Set agents away outside their working hours and back',
		description: 'For every active agent with working hours: available inside them, away outside (run it from a schedule)',
	},
	properties: [],
	async execute(store) {
		return (await syncAvailabilityWithWorkingHours(store)).map(asData);
	},
};
