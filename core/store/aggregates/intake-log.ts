import { randomUUID } from 'node:crypto';

import type { IntakeLogStore } from '../roles';
import { placeholders, type Row, type SqlDriver, type SqlExecutor } from '../sql';
import { type IntakeLogEntry, type IntakeLogInput, type IntakeLogKind } from '../types';
import { InvalidInputError } from '../../errors';

import { checkTimestamp, now } from './clock';
import { Filter } from './filter';
import { inboxIdOf } from './references';
import { json, one, text } from './rows';

const INTAKE_KINDS: IntakeLogKind[] = ['rejected', 'quarantined', 'deferred', 'forwarding-confirmation', 'forwarding-test'];

function toIntake(row: Row): IntakeLogEntry {
	return {
		id: String(row.id),
		inboxId: text(row.inbox_id),
		kind: row.kind as IntakeLogKind,
		at: String(row.at),
		clientIp: text(row.client_ip),
		helo: text(row.helo),
		mailFrom: text(row.mail_from),
		rcpt: json(row.rcpt, []),
		messageId: text(row.message_id),
		from: text(row.from_address),
		subject: text(row.subject),
		details: json(row.details, {}),
	};
}

/** One intake log entry, written with `q` (in the transaction that keeps what it speaks of, where there is one). */
export async function writeIntakeLog(q: SqlExecutor, entry: IntakeLogInput): Promise<IntakeLogEntry> {
	if (!INTAKE_KINDS.includes(entry.kind)) throw new InvalidInputError(`Intake log kind must be one of ${INTAKE_KINDS.join(', ')}, not ${JSON.stringify(entry.kind)}`);
	const inboxId = entry.inboxId ? await inboxIdOf(q, entry.inboxId) : null;
	const row = await one(
		q,
		`INSERT INTO intake_log (id, inbox_id, kind, at, client_ip, helo, mail_from, rcpt, message_id, from_address, subject, details)
		VALUES (${placeholders(1, 12)}) RETURNING *`,
		[
			randomUUID(),
			inboxId,
			entry.kind,
			entry.at ? checkTimestamp(entry.at, 'at') : now(),
			entry.clientIp ?? null,
			entry.helo ?? null,
			entry.mailFrom ?? null,
			JSON.stringify(entry.rcpt ?? []),
			entry.messageId ?? null,
			entry.from ?? null,
			entry.subject ?? null,
			JSON.stringify(entry.details ?? {}),
		],
	);
	return toIntake(row!);
}

/** The intake log entry of a spool entry's decision, naming that entry (`spoolId`), written with the entry's own transaction. */
export async function writeSpoolLog(q: SqlExecutor, log: IntakeLogInput, spoolId: string): Promise<void> {
	await writeIntakeLog(q, { ...log, details: { ...log.details, spoolId } });
}

/** The intake log: what the intake refused, held or noted, with its reasons. */
export function intakeLogStore(db: SqlDriver): IntakeLogStore {
	return {
		logIntake: (entry) => writeIntakeLog(db, entry),

		async listIntake(filter = {}) {
			const where = new Filter().equals('inbox_id', filter.inboxId === undefined ? undefined : await inboxIdOf(db, filter.inboxId)).equals('kind', filter.kind);
			const limit = where.param(Math.max(1, Math.trunc(filter.limit ?? 100)));
			return (await db.all(`SELECT * FROM intake_log${where.clause} ORDER BY at DESC, id LIMIT ${limit}`, where.params)).map(toIntake);
		},
	};
}
