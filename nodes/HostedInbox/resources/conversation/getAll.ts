import type { ConversationStatus } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { filtersCollection, limitField, openClosedOption, returnAllField } from '../../shared/fields';
import { limited, requireAgent, requireInbox } from '../../shared/lookup';

export const getAll: Operation = {
	option: { name: 'Get Many', value: 'getAll', action: 'Get many conversations', description: 'List conversations by inbox, status or assignee' },
	properties: [
		returnAllField,
		limitField,
		filtersCollection([
			{
				displayName: 'Assignee',
				name: 'assignee',
				type: 'string',
				default: '',
				description: 'The assigned agent\'s ID or email',
			},
			{
				displayName: 'Inbox',
				name: 'inbox',
				type: 'string',
				default: '',
				description: 'The hosted address of the inbox (or its ID)',
			},
			openClosedOption('Status', 'status'),
		]),
	],
	async execute(store, itemIndex) {
		const filters = this.getNodeParameter('filters', itemIndex, {}) as { assignee?: string; inbox?: string; status?: ConversationStatus };
		const conversations = await store.listConversations({
			...(filters.inbox?.trim() ? { inboxId: (await requireInbox(store, filters.inbox.trim())).id } : {}),
			...(filters.assignee?.trim() ? { assigneeId: (await requireAgent(store, filters.assignee.trim())).id } : {}),
			...(filters.status ? { status: filters.status } : {}),
		});
		return limited(this, itemIndex, conversations).map(asData);
	},
};
