import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { additionalFieldsCollection, conversationIdField } from '../../shared/fields';
import { requireAgent, requireTeam, text } from '../../shared/lookup';
import { requireConversation } from '../../shared/records';

export const assign: Operation = {
	option: {
		name: 'Assign',
		value: 'assign',
		action: 'Assign a conversation',
		description: 'Assign a conversation to an agent and/or team, or unassign it; the assignment log records it',
	},
	properties: [
		conversationIdField,
		{
			displayName: 'Assignee',
			name: 'assignee',
			type: 'string',
			default: '',
			placeholder: 'ana@company.com',
			description: 'The agent\'s ID or email; empty leaves the conversation unassigned',
		},
		additionalFieldsCollection([
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: '',
				description: 'Why, for the assignment log',
			},
			{
				displayName: 'Team',
				name: 'team',
				type: 'string',
				default: '',
				description: 'The team\'s ID or name',
			},
		]),
	],
	async execute(store, itemIndex) {
		const conversation = await requireConversation(store, text(this, 'conversationId', itemIndex));
		const assigneeRef = text(this, 'assignee', itemIndex);
		const extra = this.getNodeParameter('additionalFields', itemIndex, {}) as { reason?: string; team?: string };
		const assignee = assigneeRef ? await requireAgent(store, assigneeRef) : null;
		const team = extra.team?.trim() ? await requireTeam(store, extra.team.trim()) : null;
		const reason =
			extra.reason?.trim() ||
			(assignee ? `assigned to ${assignee.email} from the Hosted Inbox node` : 'unassigned from the Hosted Inbox node');
		return asData(await store.assignConversation(conversation.id, { assigneeId: assignee?.id ?? null, teamId: team?.id ?? null, rule: 'manual', reason }));
	},
};
