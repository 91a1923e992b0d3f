import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

import { pieces, readFrom, type MessageBytes } from '../../message-bytes';
import type { QuarantineStore, SpoolStore } from '../roles';
import type { Row, SqlDriver, SqlExecutor } from '../sql';
import { SPOOL_HEAD_BYTES, type SpoolEntry, type SpoolHead } from '../types';
import { InvalidInputError } from '../../errors';
import { checkText } from '../validate';

import { checkTimestamp, now } from './clock';
import { Filter } from './filter';
import { writeSpoolLog } from './intake-log';
import { bytes, json, one, text } from './rows';

/**
 * How much of a message one spool_chunks row holds: the memory a spooled message takes to write or read. Every
 * chunk but the last is this size (an entry spooled before chunks is one chunk of any size), so the first chunk
 * holds the head (SPOOL_HEAD_BYTES). 64 KB, as a message is read everywhere else: a parser reading the spool keeps
 * slices of a chunk, and a slice that outlives a young collection keeps its whole chunk until a full one (1 MB
 * chunks: 25-35 MB more peak RSS for one 30 MB message in bench:smtp).
 */
export const SPOOL_CHUNK_BYTES = 64 * 1024;
const SPOOL_STATUSES: Array<SpoolEntry['status']> = ['pending', 'done', 'failed', 'quarantined'];

function toSpool(row: Row): SpoolEntry {
	return {
		id: String(row.id),
		inboxId: String(row.inbox_id),
		size: Number(row.size),
		envelope: json(row.envelope, { clientIp: null, helo: null, mailFrom: null, rcpt: [] }),
		receivedAt: String(row.received_at),
		attempts: Number(row.attempts),
		nextAttemptAt: String(row.next_attempt_at),
		decision: json(row.decision, null),
		lastError: text(row.last_error),
		status: row.status as SpoolEntry['status'],
		released: row.released_by ? { by: String(row.released_by), at: String(row.released_at) } : null,
	};
}

/** Entries in these statuses (default: all but done), newest first, with only the start of each message. */
async function spoolHeads(db: SqlDriver, filter: { inboxId?: string; statuses?: Array<SpoolEntry['status']>; limit?: number }): Promise<SpoolHead[]> {
	const statuses = filter.statuses ?? SPOOL_STATUSES.filter((status) => status !== 'done');
	const unknown = statuses.filter((status) => !SPOOL_STATUSES.includes(status));
	if (unknown.length || statuses.length === 0) throw new InvalidInputError(`Spool status must be one of ${SPOOL_STATUSES.join(', ')}, not ${JSON.stringify(unknown[0] ?? null)}`);
	const where = new Filter([SPOOL_HEAD_BYTES]).among('status', statuses).equals('inbox_id', filter.inboxId);
	const limit = where.param(Math.max(1, Math.trunc(filter.limit ?? 1000)));
	// substr works on BLOB (SQLite) and bytea (PostgreSQL) alike; no chunk for an empty message.
	const rows = await db.all(
		`SELECT spool.*, (SELECT SUBSTR(bytes, 1, $1) FROM spool_chunks WHERE spool_id = spool.id ORDER BY seq LIMIT 1) AS head
		FROM spool${where.clause} ORDER BY received_at DESC, id LIMIT ${limit}`,
		where.params,
	);
	return rows.map((row) => ({ ...toSpool(row), head: row.head === null ? Buffer.alloc(0) : bytes(row.head) }));
}

/**
 * The most one query reads back or writes (at least one chunk): a round trip per 64 KB would make a remote
 * PostgreSQL the reader's and the sender's pace, and an entry spooled in 1 MB chunks (before 64 KB) is still read a
 * chunk a query. Not more: node-postgres holds a query's rows until the last arrives, each as its value and as hex
 * text (1 MB: one 30 MB message emitted from the spool grew the process by 1.3x-1.4x its size, 256 KB: 1.0x-1.4x).
 */
const QUERY_BYTES = 256 * 1024;

/**
 * Chunks one INSERT writes. node:sqlite has no round trip, and keeps a cached statement's last values bound: there
 * one chunk, or each row count's statement would keep up to 1 MB.
 */
const chunksPerInsert = (db: SqlDriver): number => (db.engine === 'postgres' ? QUERY_BYTES / SPOOL_CHUNK_BYTES : 1);

/** Cuts the message into chunks as its stream hands them over, storing them as they fill: returns the bytes stored. */
async function putChunks(q: SqlExecutor, id: string, message: MessageBytes, perInsert: number): Promise<number> {
	let parts: Buffer[] = [];
	let filled = 0;
	// Full chunks not yet written (a stream never reuses a piece it handed over, so none is copied).
	let cut: Buffer[] = [];
	let seq = 0;
	let size = 0;
	const write = async () => {
		const rows = cut.map((_, i) => `($1, $${2 * i + 2}, $${2 * i + 3})`).join(', ');
		await q.run(`INSERT INTO spool_chunks (spool_id, seq, bytes) VALUES ${rows}`, [id, ...cut.flatMap((chunk) => [seq++, chunk])]);
		for (const chunk of cut) size += chunk.length;
		cut = [];
	};
	const store = async (chunk: Buffer) => {
		cut.push(chunk);
		if (cut.length === perInsert) await write();
	};
	for await (const piece of pieces(readFrom(message))) {
		for (let at = 0; at < piece.length; ) {
			const part = piece.subarray(at, at + SPOOL_CHUNK_BYTES - filled);
			at += part.length;
			// A piece that is a whole chunk (a file is read in chunk-sized pieces) is stored as it is, not copied.
			if (filled === 0 && part.length === SPOOL_CHUNK_BYTES) {
				await store(part);
				continue;
			}
			parts.push(part);
			filled += part.length;
			if (filled === SPOOL_CHUNK_BYTES) {
				await store(Buffer.concat(parts, filled));
				parts = [];
				filled = 0;
			}
		}
	}
	if (filled > 0) cut.push(Buffer.concat(parts, filled));
	if (cut.length) await write();
	return size;
}

/**
 * The entry's message from byte `start` on, chunk by chunk in seq order, up to QUERY_BYTES a query, each chunk its
 * own value (memory: one query's chunks).
 */
export async function* spoolChunks(db: SqlExecutor, entry: { id: string; size: number }, start: number): AsyncGenerator<Buffer> {
	const listed = await db.all('SELECT seq, LENGTH(bytes) AS length FROM spool_chunks WHERE spool_id = $1 ORDER BY seq', [entry.id]);
	// The chunks from `start` on, in batches of up to QUERY_BYTES.
	const batches: Array<Array<{ seq: number; from: number; end: number }>> = [];
	let offset = 0;
	let batchBytes = 0;
	for (const { seq, length } of listed) {
		const end = offset + Number(length);
		if (end > start) {
			if (!batches.length || batchBytes + Number(length) > QUERY_BYTES) {
				batches.push([]);
				batchBytes = 0;
			}
			batches[batches.length - 1].push({ seq: Number(seq), from: offset, end });
			batchBytes += Number(length);
		}
		offset = end;
	}
	// Where the bytes handed on end: past every chunk, unless one is gone when its query comes.
	let reached = batches[0]?.[0].from ?? offset;
	read: for (const batch of batches) {
		const rows = await db.all('SELECT seq, bytes FROM spool_chunks WHERE spool_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq', [
			entry.id,
			batch[0].seq,
			batch[batch.length - 1].seq,
		]);
		for (const [n, chunk] of batch.entries()) {
			if (Number(rows[n]?.seq) !== chunk.seq) break read;
			yield bytes(rows[n].bytes).subarray(Math.max(0, start - chunk.from));
			reached = chunk.end;
		}
	}
	// Deleted (retention, erasure) while it was read: the message must not end early unnoticed.
	if (Math.max(reached, start) < entry.size) throw new Error(`Spool entry ${entry.id} was deleted while its message was read`);
}

/**
 * A new entry's id: a UUID of version 7 (RFC 9562), its first 48 bits the time of arrival in milliseconds. Entries
 * spooled together then land on the same pages of the id indexes (spool's, spool_chunks'), one WAL frame for a
 * whole group commit, where random ids took a page each (bench:smtp's server: 6.4 WAL frames a 5 KB message
 * against 7.5). 74 random bits keep it unguessable.
 */
export function timeOrderedId(at = Date.now()): string {
	const random = randomUUID();
	const time = at.toString(16).padStart(12, '0');
	return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}

/** The spool, and the quarantined mail it holds until someone releases or deletes it. */
export function spoolStore(db: SqlDriver): SpoolStore & QuarantineStore {
	return {
		async spoolPut(input) {
			const { message } = input;
			if (!message || typeof message.open !== 'function' || !Number.isSafeInteger(message.size) || message.size < 0) {
				throw new InvalidInputError('Spool entry needs the message as MessageBytes (its size and a stream of it)');
			}
			const receivedAt = input.receivedAt ? checkTimestamp(input.receivedAt, 'receivedAt') : now();
			const entry: SpoolEntry = {
				id: timeOrderedId(),
				inboxId: input.inboxId,
				size: message.size,
				envelope: input.envelope,
				receivedAt,
				attempts: 0,
				nextAttemptAt: input.dueAt ? checkTimestamp(input.dueAt, 'dueAt') : receivedAt,
				decision: input.decision ?? null,
				lastError: null,
				status: input.quarantined ? 'quarantined' : 'pending',
				released: null,
			};
			return db.transaction(async (q) => {
				// The entry as written (the caller's envelope and decision), not read back with RETURNING: parsing its JSON again
				// cost the 5 KB path more than any other step of the store's own.
				await q.run(
					'INSERT INTO spool (id, inbox_id, size, envelope, received_at, spooled_at, decision, attempts, next_attempt_at, last_error, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, NULL, $9)',
					[
						entry.id,
						entry.inboxId,
						entry.size,
						JSON.stringify(entry.envelope),
						entry.receivedAt,
						input.spooledAt ? checkTimestamp(input.spooledAt, 'spooledAt') : now(),
						entry.decision ? JSON.stringify(entry.decision) : null,
						entry.nextAttemptAt,
						entry.status,
					],
				);
				const stored = await putChunks(q, entry.id, message, chunksPerInsert(db));
				// A stream shorter or longer than the size it was announced with is not the message: nothing is kept.
				if (stored !== message.size) throw new InvalidInputError(`The message to spool is ${stored} bytes, not the ${message.size} announced`);
				if (input.log) await writeSpoolLog(q, input.log, entry.id);
				return entry;
			});
		},

		async spoolGet(id) {
			const row = await one(db, 'SELECT * FROM spool WHERE id = $1', [id]);
			return row ? toSpool(row) : null;
		},

		async spoolMessage(id) {
			const row = await one(db, 'SELECT size FROM spool WHERE id = $1', [id]);
			if (!row) return null;
			const entry = { id, size: Number(row.size) };
			return { size: entry.size, open: (start = 0) => Readable.from(spoolChunks(db, entry, start), { objectMode: false }) };
		},

		async spoolDue(inboxId, at = now(), limit = 100) {
			const rows = await db.all("SELECT * FROM spool WHERE inbox_id = $1 AND status = 'pending' AND next_attempt_at <= $2 ORDER BY received_at, id LIMIT $3", [
				inboxId,
				checkTimestamp(at, 'now'),
				Math.max(1, Math.trunc(limit)),
			]);
			return rows.map(toSpool);
		},

		async spoolComplete(id) {
			// Held mail is only ever released or deleted, never completed (an item naming it was not emitted from it).
			// Unflushed: a mark lost to a power cut leaves the entry pending, so it is emitted again and the store's
			// Message-ID de-duplication absorbs the replay; the message itself was durable before its 250.
			const changed = await db.runUnflushed("UPDATE spool SET status = 'done', last_error = NULL WHERE id = $1 AND status <> 'quarantined'", [id]);
			if (changed === 0) throw new InvalidInputError(`Unknown or quarantined spool entry: ${id}`);
		},

		async spoolFail(id, error, input) {
			const row = await one(
				db,
				"UPDATE spool SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'pending' END WHERE id = $1 AND status = 'pending' RETURNING *",
				[id, String(error), checkTimestamp(input.nextAttemptAt, 'nextAttemptAt'), Math.max(1, Math.trunc(input.maxAttempts))],
			);
			if (row) return toSpool(row);
			// Recorded by its run before a later step failed: delivered, nothing to retry.
			const done = await one(db, "SELECT * FROM spool WHERE id = $1 AND status = 'done'", [id]);
			if (!done) throw new InvalidInputError(`Unknown or finished spool entry: ${id}`);
			return toSpool(done);
		},

		async spoolList(filter = {}) {
			const where = new Filter().equals('inbox_id', filter.inboxId).equals('status', filter.status);
			return (await db.all(`SELECT * FROM spool${where.clause} ORDER BY received_at, id`, where.params)).map(toSpool);
		},

		spoolHeads: (filter = {}) => spoolHeads(db, filter),

		async spoolRedrive(id, at = now(), recheck = false) {
			// A re-check forgets the decision: the next emission runs the checks again and keeps what they decide.
			const row = await one(
				db,
				"UPDATE spool SET status = 'pending', attempts = 0, next_attempt_at = $2, decision = CASE WHEN $3 = 1 THEN NULL ELSE decision END WHERE id = $1 AND status = 'failed' RETURNING *",
				[id, checkTimestamp(at, 'at'), recheck ? 1 : 0],
			);
			if (!row) throw new InvalidInputError(`No failed spool entry with id ${id} (unknown, or not failed: pending, done or quarantined)`);
			return toSpool(row);
		},

		async spoolKeepDecision(id, decision) {
			await db.run('UPDATE spool SET decision = $2 WHERE id = $1 AND decision IS NULL', [id, JSON.stringify(decision)]);
		},

		async spoolHold(id, decision, log) {
			await db.transaction(async (q) => {
				// Held from now on: quarantine retention counts from here, not from an old failed entry's first spooling.
				const held = await q.run("UPDATE spool SET status = 'quarantined', decision = $2, spooled_at = $3 WHERE id = $1 AND status = 'pending'", [id, JSON.stringify(decision), now()]);
				if (held > 0) await writeSpoolLog(q, log, id);
			});
		},

		listQuarantined: (filter = {}) => spoolHeads(db, { ...filter, statuses: ['quarantined'] }),

		async releaseQuarantined(id, by, at = now()) {
			const releasedAt = checkTimestamp(at, 'at');
			const row = await one(
				db,
				"UPDATE spool SET status = 'pending', next_attempt_at = $3, released_by = $2, released_at = $3 WHERE id = $1 AND status = 'quarantined' RETURNING *",
				[id, checkText(by, 'released by'), releasedAt],
			);
			if (!row) throw new InvalidInputError(`No quarantined message with id ${id} (unknown, already released or deleted)`);
			return toSpool(row);
		},

		async deleteQuarantined(id) {
			const changed = await db.run("DELETE FROM spool WHERE id = $1 AND status = 'quarantined'", [id]);
			if (changed === 0) throw new InvalidInputError(`No quarantined message with id ${id} (unknown, already released or deleted)`);
		},
	};
}
