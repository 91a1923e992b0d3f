import type { MailboxCheckpointStore } from '../roles';
import type { SqlDriver } from '../sql';
import { InvalidInputError } from '../../errors';
import { checkText } from '../validate';

import { one, unique } from './rows';

function checkUids(uids: number[]): number[] {
	const checked = unique(uids);
	if (checked.some((uid) => !Number.isInteger(uid) || uid <= 0)) throw new InvalidInputError(`UIDs must be positive whole numbers, got ${JSON.stringify(uids)}`);
	return checked;
}

/** IMAP checkpoints: UIDVALIDITY, the done UIDs (a low-water mark and those above it), the failed attempts per message. */
export function mailboxCheckpointStore(db: SqlDriver): MailboxCheckpointStore {
	return {
		async getMailboxCheckpoint(mailboxKey) {
			// One statement, one snapshot: a fold committed between reading the mark and the UIDs would hide done UIDs.
			const rows = await db.all(
				`SELECT c.uid_validity, c.done_through, d.uid FROM mailbox_checkpoints c
				LEFT JOIN mailbox_done_uids d ON d.mailbox_key = c.mailbox_key WHERE c.mailbox_key = $1 ORDER BY d.uid`,
				[mailboxKey],
			);
			if (!rows.length) return null;
			const uidValidity = String(rows[0].uid_validity);
			const attempts = await db.all('SELECT uid, attempts FROM mailbox_attempts WHERE mailbox_key = $1 AND uid_validity = $2 ORDER BY uid', [mailboxKey, uidValidity]);
			return {
				mailboxKey,
				uidValidity,
				doneThrough: Number(rows[0].done_through),
				doneUids: rows.filter((row) => row.uid !== null).map((row) => Number(row.uid)),
				attempts: attempts.map((row) => ({ uid: Number(row.uid), attempts: Number(row.attempts) })),
			};
		},

		async markUidsDone(mailboxKey, uidValidity, uids, doneThrough = 0) {
			const key = checkText(mailboxKey, 'Mailbox key');
			const validity = checkText(String(uidValidity), 'UIDVALIDITY');
			const done = checkUids(uids);
			if (!Number.isInteger(doneThrough) || doneThrough < 0) throw new InvalidInputError(`The done-through UID must be a whole number >= 0, got ${doneThrough}`);
			await db.transaction(async (q) => {
				await q.run('INSERT INTO mailbox_checkpoints (mailbox_key, uid_validity) VALUES ($1, $2) ON CONFLICT (mailbox_key) DO NOTHING', [key, validity]);
				const current = await one(q, `SELECT uid_validity, done_through FROM mailbox_checkpoints WHERE mailbox_key = $1${db.forUpdate}`, [key]);
				let mark = Number(current!.done_through);
				if (String(current!.uid_validity) !== validity) {
					// A new UIDVALIDITY means the server renumbered the mailbox: the old UIDs name nothing any more.
					await q.run('DELETE FROM mailbox_done_uids WHERE mailbox_key = $1', [key]);
					await q.run('DELETE FROM mailbox_attempts WHERE mailbox_key = $1', [key]);
					mark = 0;
				}
				mark = Math.max(mark, doneThrough);
				const above = done.filter((uid) => uid > mark);
				for (let start = 0; start < above.length; start += 500) {
					const chunk = above.slice(start, start + 500);
					await q.run(`INSERT INTO mailbox_done_uids (mailbox_key, uid) VALUES ${chunk.map((_, i) => `($1, $${i + 2})`).join(', ')} ON CONFLICT DO NOTHING`, [key, ...chunk]);
					await q.run(`DELETE FROM mailbox_attempts WHERE mailbox_key = $1 AND uid IN (${chunk.map((_, i) => `$${i + 2}`).join(', ')})`, [key, ...chunk]);
				}
				// Fold the run of done UIDs right above the mark into it, a page at a time (the run is what gets deleted).
				for (;;) {
					const page = await q.all('SELECT uid FROM mailbox_done_uids WHERE mailbox_key = $1 AND uid > $2 ORDER BY uid LIMIT 500', [key, mark]);
					let i = 0;
					while (i < page.length && Number(page[i].uid) === mark + 1) {
						mark++;
						i++;
					}
					if (i < page.length || page.length < 500) break;
				}
				await q.run('DELETE FROM mailbox_done_uids WHERE mailbox_key = $1 AND uid <= $2', [key, mark]);
				await q.run('DELETE FROM mailbox_attempts WHERE mailbox_key = $1 AND uid <= $2', [key, mark]);
				await q.run('UPDATE mailbox_checkpoints SET uid_validity = $2, done_through = $3 WHERE mailbox_key = $1', [key, validity, mark]);
			});
		},

		async setMailboxAttempts(mailboxKey, uidValidity, uid, attempts) {
			const [checked] = checkUids([uid]);
			if (!Number.isInteger(attempts) || attempts < 1) throw new InvalidInputError(`Attempts must be a whole number >= 1, got ${attempts}`);
			// Only under the checkpoint's own UIDVALIDITY: a count for the old numbering would name another message.
			await db.run(
				`INSERT INTO mailbox_attempts (mailbox_key, uid_validity, uid, attempts)
				SELECT mailbox_key, uid_validity, $3, $4 FROM mailbox_checkpoints WHERE mailbox_key = $1 AND uid_validity = $2
				ON CONFLICT (mailbox_key, uid_validity, uid) DO UPDATE SET attempts = excluded.attempts`,
				[String(mailboxKey), String(uidValidity), checked, attempts],
			);
		},

		async clearMailboxAttempts(mailboxKey, uidValidity, uids) {
			const checked = checkUids(uids);
			for (let start = 0; start < checked.length; start += 500) {
				const chunk = checked.slice(start, start + 500);
				await db.run(`DELETE FROM mailbox_attempts WHERE mailbox_key = $1 AND uid_validity = $2 AND uid IN (${chunk.map((_, i) => `$${i + 3}`).join(', ')})`, [
					String(mailboxKey),
					String(uidValidity),
					...chunk,
				]);
			}
		},
	};
}
