import { likeAny, mentions, rawMentions, redact } from '../mentions';
import type { RetentionStore } from '../roles';
import { placeholders, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from '../sql';
import type { ErasureCounts } from '../types';
import { checkEmail } from '../validate';

import { checkTimestamp } from './clock';
import { inboxIdOf } from './references';
import { text } from './rows';
import { spoolChunks } from './spool';

/** Text columns of other people's records where an erased address is replaced by `[erased]` (identity columns aside: Message-ID, sender key, hash). */
const REDACTED_COLUMNS: Array<[table: string, columns: string[]]> = [
	['conversations', ['subject']],
	['messages', ['in_reply_to', 'refs', 'thread_refused', 'from_address', 'to_addresses', 'cc_addresses', 'subject', 'text_body', 'html_body', 'auth_summary', 'original_sender_method']],
	['tickets', ['name', 'pipeline', 'stage', 'priority', 'properties']],
	['assignment_log', ['rule', 'reason']],
];

/** Rows of the table whose text columns name the address (LIKE finds candidates, mentions() decides). */
async function rowsNaming(q: SqlExecutor, table: string, columns: string[], key: string): Promise<Row[]> {
	const where = columns.map((column) => `LOWER(${column}) LIKE $1 ESCAPE '\\'`).join(' OR ');
	const rows = await q.all(`SELECT id, ${columns.join(', ')} FROM ${table} WHERE ${where}`, [likeAny(key)]);
	return rows.filter((row) => columns.some((column) => mentions(text(row[column]), key)));
}

async function deleteIds(q: SqlExecutor, table: string, ids: string[]): Promise<number> {
	let deleted = 0;
	for (let start = 0; start < ids.length; start += 500) {
		const chunk = ids.slice(start, start + 500);
		deleted += await q.run(`DELETE FROM ${table} WHERE id IN (${placeholders(1, chunk.length)})`, chunk);
	}
	return deleted;
}

/** Everything stored about the address, in one transaction (see RetentionStore.eraseContact). */
async function erase(q: SqlExecutor, key: string): Promise<ErasureCounts> {
	const theirConversations = 'SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE ct.email_key = $1';
	const tickets = await q.run(`DELETE FROM tickets WHERE conversation_id IN (${theirConversations})`, [key]);
	const assignments = await q.run(`DELETE FROM assignment_log WHERE conversation_id IN (${theirConversations})`, [key]);
	// Their conversations' messages, and what they wrote in other conversations (as a participant).
	const messages = await q.run(`DELETE FROM messages WHERE conversation_id IN (${theirConversations}) OR sender_key = $1`, [key]);
	const conversations = await q.run('DELETE FROM conversations WHERE contact_id IN (SELECT id FROM contacts WHERE email_key = $1)', [key]);
	const contacts = await q.run('DELETE FROM contacts WHERE email_key = $1', [key]);

	// Refused and held mail is about its sender: an entry naming them anywhere goes whole.
	const intakeLog = await deleteIds(
		q,
		'intake_log',
		(await rowsNaming(q, 'intake_log', ['helo', 'mail_from', 'rcpt', 'message_id', 'from_address', 'subject', 'details'], key)).map((row) => String(row.id)),
	);
	// Spool entries, whatever their status (erasure outranks a delivery still owed): envelope, decision, raw bytes.
	const spooled = new Set((await rowsNaming(q, 'spool', ['envelope', 'decision', 'last_error', 'released_by'], key)).map((row) => String(row.id)));
	for (const row of await q.all('SELECT id, size FROM spool')) {
		const entry = { id: String(row.id), size: Number(row.size) };
		// One chunk at a time, never a whole message (nor the whole spool) in memory.
		if (!spooled.has(entry.id) && (await rawMentions(spoolChunks(q, entry, 0), key))) spooled.add(entry.id);
	}
	// Their chunks go with them (ON DELETE CASCADE; foreign keys are on in both engines).
	const spool = await deleteIds(q, 'spool', [...spooled]);

	// Other people's records that name the address (a Cc, a quoted reply, a ticket property) keep their rest.
	let redacted = 0;
	for (const [table, columns] of REDACTED_COLUMNS) {
		for (const row of await rowsNaming(q, table, columns, key)) {
			const named = columns.filter((column) => mentions(text(row[column]), key));
			const sets = named.map((column, i) => `${column} = $${i + 2}`).join(', ');
			redacted += await q.run(`UPDATE ${table} SET ${sets} WHERE id = $1`, [String(row.id), ...named.map((column) => redact(String(row[column]), key))]);
		}
	}
	return { contacts, conversations, messages, tickets, assignments, intakeLog, spool, redacted };
}

/** Retention (expiry by the inbox's cutoffs) and erasure (of a person). */
export function retentionStore(db: SqlDriver): RetentionStore {
	return {
		async purgeExpired(inboxId, cutoffs) {
			const before = (at: string | null, what: string) => (at === null ? null : checkTimestamp(at, what));
			const delivered = before(cutoffs.deliveredBefore, 'deliveredBefore');
			const quarantined = before(cutoffs.quarantinedBefore, 'quarantinedBefore');
			const intakeLog = before(cutoffs.intakeLogBefore, 'intakeLogBefore');
			const replaysExpiredBy = checkTimestamp(cutoffs.replaysExpiredBy, 'replaysExpiredBy');
			return db.transaction(async (q) => {
				const expire = async (sql: string, at: string | null, params: SqlValue[]) => (at === null ? 0 : await q.run(sql, [...params, at]));
				if (inboxId === null) {
					return { delivered: 0, quarantined: 0, intakeLog: await expire('DELETE FROM intake_log WHERE inbox_id IS NULL AND at < $1', intakeLog, []), replays: 0 };
				}
				const id = await inboxIdOf(q, inboxId);
				return {
					// Pending and failed entries are owed to the workflow: only these two statuses ever expire, counted from when the
					// inbox took the message in (an entry written by a version before that was kept counts from its receipt).
					delivered: await expire("DELETE FROM spool WHERE inbox_id = $1 AND status = 'done' AND COALESCE(spooled_at, received_at) < $2", delivered, [id]),
					quarantined: await expire("DELETE FROM spool WHERE inbox_id = $1 AND status = 'quarantined' AND COALESCE(spooled_at, received_at) < $2", quarantined, [id]),
					intakeLog: await expire('DELETE FROM intake_log WHERE inbox_id = $1 AND at < $2', intakeLog, [id]),
					// A replay claim guards only while its request could still be accepted (its freshness window).
					replays: await expire('DELETE FROM http_replays WHERE inbox_id = $1 AND expires_at <= $2', replaysExpiredBy, [id]),
				};
			});
		},

		async eraseContact(email) {
			const { key } = checkEmail(email, 'contact');
			const counts = await db.transaction((q) => erase(q, key));
			// No copy of the erased rows left in the store's files (the embedded store's WAL; connections run with secure_delete).
			return { ...counts, filesClean: await db.truncateLog() };
		},
	};
}
