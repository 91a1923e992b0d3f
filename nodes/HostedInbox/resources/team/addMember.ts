import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { agentField, teamField } from '../../shared/fields';
import { requireAgent, requireTeam, text } from '../../shared/lookup';

export const addMember: Operation = {
	option: { name: 'Add Member', value: 'addMember', action: 'Add an agent to a team', description: 'Add an agent to a team' },
	properties: [teamField, agentField],
	async execute(store, itemIndex) {
		const team = await requireTeam(store, text(this, 'team', itemIndex));
		const agent = await requireAgent(store, text(this, 'agent', itemIndex));
		return asData(await store.addTeamMember(team.id, agent.id));
	},
};
