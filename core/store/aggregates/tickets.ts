import { randomUUID } from 'node:crypto';

import type { TicketStore } from '../roles';
import type { Row, SqlDriver } from '../sql';
import { CLOSED_TICKET_STAGE, DEFAULT_TICKET_STAGE, ticketStage } from '../../tickets/stage';
import { type Ticket } from '../types';
import { InvalidInputError } from '../../errors';
import { checkText } from '../validate';

import { now } from './clock';
import { Filter } from './filter';
import { conversationRow, optionalAgentId } from './references';
import { json, one, text } from './rows';

const DEFAULT_PIPELINE = 'support';

function toTicket(row: Row): Ticket {
	return {
		id: String(row.id),
		conversationId: String(row.conversation_id),
		name: String(row.name),
		pipeline: String(row.pipeline),
		stage: String(row.stage),
		priority: text(row.priority),
		ownerId: text(row.owner_id),
		properties: json(row.properties, {}),
		createdAt: String(row.created_at),
		closedAt: text(row.closed_at),
	};
}

/** Tickets: one per conversation at most. */
export function ticketStore(db: SqlDriver): TicketStore {
	return {
		async createTicketOnce(conversationId, input) {
			const name = checkText(input.name, 'Ticket name');
			return db.transaction(async (q) => {
				await conversationRow(q, conversationId);
				const ownerId = await optionalAgentId(q, input.ownerId, 'ticket owner');
				const stage = ticketStage(input.stage ?? '') || DEFAULT_TICKET_STAGE;
				const createdAt = now();
				// Made in the closed stage, it is closed from the start, as updateTicket closes one.
				const row = await one(
					q,
					`INSERT INTO tickets (id, conversation_id, name, pipeline, stage, priority, owner_id, properties, created_at, closed_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (conversation_id) DO NOTHING RETURNING *`,
					[
						randomUUID(),
						conversationId,
						name,
						input.pipeline?.trim() || DEFAULT_PIPELINE,
						stage,
						input.priority ?? null,
						ownerId,
						JSON.stringify(input.properties ?? {}),
						createdAt,
						stage === CLOSED_TICKET_STAGE ? createdAt : null,
					],
				);
				if (row) return { ticket: toTicket(row), created: true };
				const existing = await one(q, 'SELECT * FROM tickets WHERE conversation_id = $1', [conversationId]);
				return { ticket: toTicket(existing!), created: false };
			});
		},

		async getTicket(id) {
			const row = await one(db, 'SELECT * FROM tickets WHERE id = $1', [id]);
			return row ? toTicket(row) : null;
		},

		async getTicketForConversation(conversationId) {
			const row = await one(db, 'SELECT * FROM tickets WHERE conversation_id = $1', [conversationId]);
			return row ? toTicket(row) : null;
		},

		async listTickets(filter = {}) {
			const stage = filter.stage === undefined ? undefined : ticketStage(filter.stage);
			const where = new Filter()
				// The closed stage however it is spelled in the store: a version before kept a typed "Closed" as it was.
				.holds(stage === CLOSED_TICKET_STAGE ? `LOWER(TRIM(stage)) = '${CLOSED_TICKET_STAGE}'` : undefined)
				.equals('stage', stage === CLOSED_TICKET_STAGE ? undefined : stage)
				.holds(filter.open === undefined ? undefined : filter.open ? 'closed_at IS NULL' : 'closed_at IS NOT NULL');
			return (await db.all(`SELECT * FROM tickets${where.clause} ORDER BY created_at, id`, where.params)).map(toTicket);
		},

		/** Properties are merged into the ticket's (a key set to null is removed); the other fields are replaced when given. */
		async updateTicket(id, patch) {
			return db.transaction(async (q) => {
				const current = await one(q, `SELECT * FROM tickets WHERE id = $1${db.forUpdate}`, [id]);
				if (!current) throw new InvalidInputError(`Unknown ticket: ${id}`);
				const ticket = toTicket(current);
				const properties = { ...ticket.properties, ...(patch.properties ?? {}) };
				for (const [key, value] of Object.entries(properties)) if (value === null) delete properties[key];
				const stage = patch.stage === undefined ? ticket.stage : ticketStage(checkText(patch.stage, 'Stage'));
				// Moving a ticket to an open stage reopens it; the closed stage keeps (or sets) its closing time.
				const closedAt = stage === CLOSED_TICKET_STAGE ? (ticket.closedAt ?? now()) : patch.stage === undefined ? ticket.closedAt : null;
				const row = await one(q, 'UPDATE tickets SET name = $2, pipeline = $3, stage = $4, priority = $5, owner_id = $6, properties = $7, closed_at = $8 WHERE id = $1 RETURNING *', [
					id,
					patch.name === undefined ? ticket.name : checkText(patch.name, 'Ticket name'),
					patch.pipeline === undefined ? ticket.pipeline : checkText(patch.pipeline, 'Pipeline'),
					stage,
					patch.priority === undefined ? ticket.priority : patch.priority,
					patch.ownerId === undefined ? ticket.ownerId : await optionalAgentId(q, patch.ownerId, 'ticket owner'),
					JSON.stringify(properties),
					closedAt,
				]);
				return toTicket(row!);
			});
		},

		async closeTicket(id) {
			const row = await one(db, 'UPDATE tickets SET stage = $2, closed_at = CASE WHEN closed_at IS NULL THEN $3 ELSE closed_at END WHERE id = $1 RETURNING *', [
				id,
				CLOSED_TICKET_STAGE,
				now(),
			]);
			if (!row) throw new InvalidInputError(`Unknown ticket: ${id}`);
			return toTicket(row);
		},
	};
}
