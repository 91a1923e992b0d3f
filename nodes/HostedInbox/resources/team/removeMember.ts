import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField, teamField } from '../../shared/fields';
import { requireAgent, requireTeam, text } from '../../shared/lookup';

export const removeMember: Operation = {
	option: { name: 'Remove Member', value: 'removeMember', action: 'Remove an agent from a team', description: 'Remove an agent from a team' },
	properties: [teamField, agentField],
	async execute(store, itemIndex) {
		const team = await requireTeam(store, text(this, 'team', itemIndex));
		const agent = await requireAgent(store, text(this, 'agent', itemIndex));
		return asData(await store.removeTeamMember(team.id, agent.id));
	},
};
