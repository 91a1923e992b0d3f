import type { TicketItem } from '../../../core/item';
import { ticketContextOf } from '../../../core/tickets/ticket';
import { intakeItem } from '../../support/items';

/** A trigger item after Resolve Original Sender, its conversation assigned to `assigneeId`. */
function resolvedItem(assigneeId: string | null, subject: string | null = null): TicketItem {
	const item = intakeItem({ subject: 'Fwd: invoice 42' });
	return {
		...item,
		originalSender: { ...item.originalSender, subject },
		contact: { id: 'c1', email: 'jane@example.com', name: null, ownerId: null },
		conversation: { id: 'v1', status: 'open', assigneeId, teamId: null, subject: 'invoice 42', isNew: false, reopened: true },
		message: { id: 'm1', messageId: 'm1@example.com' },
		replay: false,
	};
}

const ana = { id: 'a1', email: 'ana@company.test', fullName: 'Ana Lopez' };

describe('ticketContextOf: the owner default and the subject', () => {
	it('without Route Conversation: the conversation\'s assignee', () => {
		expect(ticketContextOf(resolvedItem('a9'))).toEqual({ subject: 'Fwd: invoice 42', assigneeId: 'a9', conversationReopened: true });
	});

	it('after Route Conversation: its decision, unassigned included', () => {
		expect(ticketContextOf({ ...resolvedItem('a9'), assignment: { assignee: ana, team: null, rule: 'round-robin', reason: '' } }).assigneeId).toBe('a1');
		expect(ticketContextOf({ ...resolvedItem('a9'), assignment: { assignee: null, team: null, rule: 'none', reason: '' } }).assigneeId).toBeNull();
	});

	it('a team member\'s forward is named by the forwarded message\'s subject', () => {
		expect(ticketContextOf(resolvedItem(null, 'invoice 42')).subject).toBe('invoice 42');
	});
});
