import { availabilityFromWorkingHours } from '../../../../core/routing/availability';
import type { Operation } from '../../shared/operation';

export const syncWorkingHours: Operation = {
	option: {
		name: 'Sync Availability With Working Hours',
		value: 'syncWorkingHours',
		action: 'Set agents away outside their working hours and back',
		description: 'For every active agent with working hours: available inside them, away outside (run it from a schedule)',
	},
	properties: [],
	async execute(store) {
		const now = new Date();
		const agents = await store.listAgents({ active: true });
		const results = [];
		for (const agent of agents) {
			const wanted = availabilityFromWorkingHours(agent, now);
			if (!wanted) continue;
			const changed = wanted.availability !== agent.availability;
			if (changed) await store.updateAgent(agent.id, { availability: wanted.availability });
			results.push({
				id: agent.id,
				email: agent.email,
				availability: wanted.availability,
				changed,
				reason: `${wanted.local} is ${wanted.availability === 'available' ? 'inside' : 'outside'} working hours`,
			});
		}
		return results;
	},
};
