import { randomUUID } from 'node:crypto';

import { contentMessageId, fieldsHash, normalizeMessageId } from '../message-id';
import type { ConversationStore } from '../roles';
import { placeholders, type Row, type SqlDriver, type SqlExecutor } from '../sql';
import { type AssignmentLogEntry, type Conversation, type ConversationStatus, type RecordMessageResult, type ReplayIdentity, type StoredMessage } from '../types';
import { InvalidInputError } from '../../errors';
import { checkText } from '../validate';

import { checkTimestamp, now } from './clock';
import { Filter } from './filter';
import { conversationRow, inboxIdOf, inboxRow, optionalAgentId, requireTeam } from './references';
import { json, one, text, unique } from './rows';
import { threadOf } from './threading';

function toConversation(row: Row): Conversation {
	return {
		id: String(row.id),
		inboxId: String(row.inbox_id),
		contactId: String(row.contact_id),
		status: row.status as ConversationStatus,
		assigneeId: text(row.assignee_id),
		teamId: text(row.team_id),
		subject: String(row.subject),
		createdAt: String(row.created_at),
		lastMessageAt: String(row.last_message_at),
	};
}

function toMessage(row: Row): StoredMessage {
	return {
		id: String(row.id),
		conversationId: String(row.conversation_id),
		direction: row.direction as 'in' | 'out',
		messageId: String(row.message_id),
		inReplyTo: json(row.in_reply_to, []),
		references: json(row.refs, []),
		from: String(row.from_address),
		to: json(row.to_addresses, []),
		cc: json(row.cc_addresses, []),
		subject: String(row.subject),
		text: String(row.text_body),
		html: text(row.html_body),
		size: Number(row.size),
		receivedAt: String(row.received_at),
		authSummary: text(row.auth_summary),
		originalSenderMethod: text(row.original_sender_method),
		senderAgentId: text(row.sender_agent_id),
		threadRefused: text(row.thread_refused),
	};
}

function toAssignment(row: Row): AssignmentLogEntry {
	return {
		id: String(row.id),
		conversationId: String(row.conversation_id),
		assigneeId: text(row.assignee_id),
		teamId: text(row.team_id),
		rule: String(row.rule),
		reason: String(row.reason),
		at: String(row.at),
	};
}

/** In-Reply-To / References as the store keeps them: normalised, unusable ones dropped, each once. */
function messageIds(values: string[] | undefined): string[] {
	return unique((values ?? []).map(normalizeMessageId).filter((id): id is string => id !== null));
}

type MessageIdentity = ReturnType<typeof identity>;

/** What makes a message the same message: its Message-ID (derived from the content when it has none), its From and its content hash. */
function identity(input: ReplayIdentity) {
	const fields = { from: input.from ?? '', to: input.to ?? [], cc: input.cc ?? [], subject: input.subject ?? '', text: input.text ?? '', html: input.html ?? null };
	return {
		fields,
		messageId: (input.messageId ? normalizeMessageId(input.messageId) : null) ?? contentMessageId(fields),
		senderKey: fields.from.trim().toLowerCase(),
		contentHash: input.contentHash || fieldsHash(fields),
	};
}

/** The recorded message a copy with this identity replays; a row from before content hashes (NULL) matches on Message-ID and From. */
function recorded(q: SqlExecutor, inboxId: string, id: MessageIdentity): Promise<Row | null> {
	return one(q, 'SELECT * FROM messages WHERE inbox_id = $1 AND message_id = $2 AND sender_key = $3 AND (content_hash = $4 OR content_hash IS NULL) ORDER BY created_at, id LIMIT 1', [
		inboxId,
		id.messageId,
		id.senderKey,
		id.contentHash,
	]);
}

const MAX_STORED_SIZE = 2 ** 31 - 1;

/** Thrown inside recordMessage's transaction when a concurrent caller stored the same message first: roll back, report a duplicate. */
class Replay extends Error {}

type Assignment = { assigneeId: string | null; teamId: string | null; rule: string; reason: string };

async function checkAssignment(q: SqlExecutor, input: Assignment): Promise<Assignment> {
	const assigneeId = await optionalAgentId(q, input.assigneeId, 'assignee agent');
	const teamId = input.teamId ? String((await requireTeam(q, input.teamId)).id) : null;
	return { assigneeId, teamId, rule: checkText(input.rule, 'Assignment rule'), reason: String(input.reason ?? '') };
}

async function logAssignment(q: SqlExecutor, conversationId: string, a: Assignment): Promise<void> {
	await q.run('INSERT INTO assignment_log (id, conversation_id, assignee_id, team_id, rule, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
		randomUUID(),
		conversationId,
		a.assigneeId,
		a.teamId,
		a.rule,
		a.reason,
		now(),
	]);
}

/** Conversations, their messages and their assignment. */
export function conversationStore(db: SqlDriver): ConversationStore {
	const setStatus = async (id: string, status: ConversationStatus): Promise<Conversation> => {
		const row = await one(db, 'UPDATE conversations SET status = $2 WHERE id = $1 RETURNING *', [id, status]);
		if (!row) throw new InvalidInputError(`Unknown conversation: ${id}`);
		return toConversation(row);
	};

	return {
		async recordMessage(input) {
			if (input.direction !== 'in' && input.direction !== 'out') throw new InvalidInputError(`direction must be "in" or "out", not ${JSON.stringify(input.direction)}`);
			const receivedAt = checkTimestamp(input.receivedAt, 'receivedAt');
			const inReplyTo = messageIds(input.inReplyTo);
			const references = messageIds(input.references);
			const message = identity(input);
			const { fields } = message;
			const inbox = await inboxRow(db, input.inboxId);
			const inboxId = String(inbox.id);
			const replay = async (row: Row): Promise<RecordMessageResult> => {
				const conversation = await conversationRow(db, String(row.conversation_id));
				return { outcome: 'duplicate', conversation: toConversation(conversation), message: toMessage(row), reopened: false };
			};

			// A replay is the common case after a crash: answer it without opening a write transaction.
			const earlier = await recorded(db, inboxId, message);
			if (earlier) return replay(earlier);
			return db
				.transaction(async (q): Promise<RecordMessageResult> => {
					const contact = await one(q, 'SELECT inbox_id FROM contacts WHERE id = $1', [input.contactId]);
					if (!contact || contact.inbox_id !== inboxId) throw new InvalidInputError(`Unknown contact ${input.contactId} in the inbox ${String(inbox.address)}`);
					const senderAgentId = await optionalAgentId(q, input.senderAgentId, 'sender agent');
					const threading = await threadOf(q, {
						inbox,
						conversationId: input.conversationId,
						keys: unique([...inReplyTo, ...[...references].reverse()]),
						sender: input.direction === 'in' ? (input.sender ?? fields.from) : null,
						senderAuthenticated: input.senderAuthenticated === true,
					});
					const outcome: RecordMessageResult['outcome'] = threading.conversation ? 'existing-conversation' : 'new-conversation';
					const conversation =
						threading.conversation ??
						(await one(
							q,
							"INSERT INTO conversations (id, inbox_id, contact_id, status, assignee_id, team_id, subject, created_at, last_message_at) VALUES ($1, $2, $3, 'open', NULL, NULL, $4, $5, $6) RETURNING *",
							[randomUUID(), inboxId, input.contactId, input.conversationSubject || fields.subject, now(), receivedAt],
						));
					const conversationId = String(conversation!.id);
					const stored = await one(
						q,
						`INSERT INTO messages (id, inbox_id, conversation_id, direction, message_id, sender_key, content_hash, in_reply_to, refs, thread_refused, from_address,
							to_addresses, cc_addresses, subject, text_body, html_body, size, received_at, auth_summary, original_sender_method, sender_agent_id, created_at)
						VALUES (${placeholders(1, 22)}) ON CONFLICT (inbox_id, message_id, sender_key, content_hash) DO NOTHING RETURNING *`,
						[
							randomUUID(),
							inboxId,
							conversationId,
							input.direction,
							message.messageId,
							message.senderKey,
							message.contentHash,
							JSON.stringify(inReplyTo),
							JSON.stringify(references),
							threading.refused,
							fields.from,
							JSON.stringify(fields.to),
							JSON.stringify(fields.cc),
							fields.subject,
							fields.text,
							fields.html,
							// A size as PostgreSQL's INTEGER holds it (an item is anyone's to write; no message we take is near it).
							Math.min(MAX_STORED_SIZE, Math.max(0, Math.trunc(Number(input.size) || 0))),
							receivedAt,
							input.authSummary ?? null,
							input.originalSenderMethod ?? null,
							senderAgentId,
							now(),
						],
					);
					// A concurrent caller committed this message while we threaded: undo our conversation, report the replay.
					if (!stored) throw new Replay();
					const reopened = input.direction === 'in' && (await q.run("UPDATE conversations SET status = 'open' WHERE id = $1 AND status = 'closed'", [conversationId])) > 0;
					const updated = await one(
						q,
						'UPDATE conversations SET last_message_at = CASE WHEN last_message_at < $2 THEN $2 ELSE last_message_at END WHERE id = $1 RETURNING *',
						[conversationId, receivedAt],
					);
					return { outcome, conversation: toConversation(updated!), message: toMessage(stored), reopened };
				})
				.catch(async (error: unknown) => (error instanceof Replay ? replay((await recorded(db, inboxId, message))!) : Promise.reject(error)));
		},

		async findMessage(inboxId, messageId) {
			const row = await one(db, 'SELECT * FROM messages WHERE inbox_id = $1 AND message_id = $2 ORDER BY created_at, id LIMIT 1', [
				await inboxIdOf(db, inboxId),
				normalizeMessageId(messageId) ?? '',
			]);
			return row ? toMessage(row) : null;
		},

		async findReplay(input) {
			const row = await recorded(db, await inboxIdOf(db, input.inboxId), identity(input));
			return row ? toMessage(row) : null;
		},

		async listMessages(conversationId) {
			return (await db.all('SELECT * FROM messages WHERE conversation_id = $1 ORDER BY received_at, created_at, id', [conversationId])).map(toMessage);
		},

		async getConversation(id) {
			const row = await one(db, 'SELECT * FROM conversations WHERE id = $1', [id]);
			return row ? toConversation(row) : null;
		},

		async listConversations(filter = {}) {
			const where = new Filter()
				.equals('inbox_id', filter.inboxId === undefined ? undefined : await inboxIdOf(db, filter.inboxId))
				.equals('status', filter.status)
				.equals('assignee_id', filter.assigneeId);
			return (await db.all(`SELECT * FROM conversations${where.clause} ORDER BY last_message_at DESC, id`, where.params)).map(toConversation);
		},

		closeConversation: (id) => setStatus(id, 'closed'),

		reopenConversation: (id) => setStatus(id, 'open'),

		async assignConversation(id, input) {
			return db.transaction(async (q) => {
				await conversationRow(q, id);
				const a = await checkAssignment(q, input);
				const row = await one(q, 'UPDATE conversations SET assignee_id = $2, team_id = $3 WHERE id = $1 RETURNING *', [id, a.assigneeId, a.teamId]);
				await logAssignment(q, id, a);
				return toConversation(row!);
			});
		},

		async assignConversationIfUnassigned(id, input) {
			return db.transaction(async (q) => {
				// The conversation's row, then the agent's, locked in that order by every router (PostgreSQL; SQLite's write
				// transaction runs alone): of concurrent routers, one decides at a time.
				await conversationRow(q, id);
				const [current] = await q.all(`SELECT assignee_id FROM conversations WHERE id = $1${db.forNoKeyUpdate}`, [id]);
				const a = await checkAssignment(q, input);
				if (!a.assigneeId) throw new InvalidInputError('assignConversationIfUnassigned needs an assignee');
				const replacing = input.replacing ?? null;
				const stands = () => conversationRow(q, id).then(toConversation);
				// Assigned meanwhile (by a concurrent router, or by hand): that assignment stands.
				if (current.assignee_id !== null && String(current.assignee_id) !== replacing) return { conversation: await stands(), assigned: false, full: false };
				if (typeof input.capacity === 'number') {
					await q.all(`SELECT id FROM agents WHERE id = $1${db.forNoKeyUpdate}`, [a.assigneeId]);
					const [row] = await q.all("SELECT COUNT(*) AS open_count FROM conversations WHERE assignee_id = $1 AND status = 'open' AND id <> $2", [a.assigneeId, id]);
					if (Number(row.open_count) >= input.capacity) return { conversation: await stands(), assigned: false, full: true };
				}
				await q.run('UPDATE conversations SET assignee_id = $2, team_id = $3 WHERE id = $1', [id, a.assigneeId, a.teamId]);
				await logAssignment(q, id, a);
				return { conversation: await stands(), assigned: true, full: false };
			});
		},

		async listAssignmentLog(conversationId) {
			return (await db.all('SELECT * FROM assignment_log WHERE conversation_id = $1 ORDER BY at, id', [conversationId])).map(toAssignment);
		},

		async countOpenConversations(agentIds) {
			const ids = unique(agentIds);
			const counts: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
			if (ids.length === 0) return counts;
			const rows = await db.all(
				`SELECT assignee_id, COUNT(*) AS open_count FROM conversations WHERE status = 'open' AND assignee_id IN (${placeholders(1, ids.length)}) GROUP BY assignee_id`,
				ids,
			);
			for (const row of rows) counts[String(row.assignee_id)] = Number(row.open_count);
			return counts;
		},

		async pickNextAgent(poolKey, candidateIds) {
			const key = checkText(poolKey, 'Pool key');
			// Sorted, so every caller sees the same order and the counter alone decides the turn.
			const ids = unique(candidateIds).sort();
			if (ids.length === 0) return null;
			return db.transaction(async (q) => {
				const known = new Set((await q.all(`SELECT id FROM agents WHERE id IN (${placeholders(1, ids.length)})`, ids)).map((row) => String(row.id)));
				const unknown = ids.filter((id) => !known.has(id));
				if (unknown.length > 0) throw new InvalidInputError(`Unknown agent: ${unknown.join(', ')}`);
				const row = await one(
					q,
					'INSERT INTO round_robin (pool_key, counter) VALUES ($1, 1) ON CONFLICT (pool_key) DO UPDATE SET counter = round_robin.counter + 1 RETURNING counter',
					[key],
				);
				return ids[(Number(row!.counter) - 1) % ids.length];
			});
		},
	};
}
