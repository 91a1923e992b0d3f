import type { HeartbeatStore } from '../roles';
import type { Row, SqlDriver } from '../sql';
import type { InboxHealthFacts, SpoolEntry, TriggerHeartbeat } from '../types';

import { checkTimestamp, now } from './clock';
import { inboxIdOf } from './references';
import { one, text } from './rows';

function toHeartbeat(row: Row): TriggerHeartbeat {
	return {
		inboxId: String(row.inbox_id),
		via: row.via as TriggerHeartbeat['via'],
		state: row.state as TriggerHeartbeat['state'],
		intervalMs: Number(row.interval_ms),
		startedAt: String(row.started_at),
		beatAt: String(row.beat_at),
		stoppedAt: text(row.stopped_at),
		lastError: row.last_error === null || row.last_error === undefined ? null : { message: String(row.last_error), at: String(row.last_error_at) },
	};
}

/** Trigger heartbeats: whether the trigger is running, and its latest trouble. */
export function heartbeatStore(db: SqlDriver): HeartbeatStore {
	return {
		async beatTrigger(inboxId, beat) {
			const id = await inboxIdOf(db, inboxId);
			const at = beat.at ? checkTimestamp(beat.at, 'at') : now();
			const stopped = beat.event === 'stopped';
			// started_at moves only at an activation; a later beat or the stop keeps it.
			const row = await one(
				db,
				`INSERT INTO trigger_heartbeats (inbox_id, via, state, interval_ms, started_at, beat_at, stopped_at) VALUES ($1, $2, $3, $4, $5, $5, $6)
				ON CONFLICT (inbox_id) DO UPDATE SET via = excluded.via, state = excluded.state, interval_ms = excluded.interval_ms,
					started_at = CASE WHEN $7 = 1 THEN excluded.started_at ELSE trigger_heartbeats.started_at END,
					beat_at = excluded.beat_at, stopped_at = excluded.stopped_at
				RETURNING *`,
				[id, beat.via, stopped ? 'stopped' : 'running', Math.max(1, Math.trunc(beat.intervalMs)), at, stopped ? at : null, beat.event === 'started' ? 1 : 0],
			);
			return toHeartbeat(row!);
		},

		async noteTriggerError(inboxId, message, at = now()) {
			await db.run('UPDATE trigger_heartbeats SET last_error = $2, last_error_at = $3 WHERE inbox_id = $1', [inboxId, String(message), checkTimestamp(at, 'at')]);
		},
	};
}

/** What the inbox's health is read from: its heartbeat, pending and failed spool entries, the latest refusals. */
export async function inboxHealthFacts(db: SqlDriver, inboxId: string): Promise<InboxHealthFacts> {
	const id = await inboxIdOf(db, inboxId);
	const heartbeat = await one(db, 'SELECT * FROM trigger_heartbeats WHERE inbox_id = $1', [id]);
	const latest = await one(
		db,
		`SELECT MAX(at) AS at FROM (
			SELECT MAX(received_at) AS at FROM spool WHERE inbox_id = $1
			UNION ALL SELECT MAX(at) AS at FROM intake_log WHERE inbox_id = $1
			UNION ALL SELECT MAX(received_at) AS at FROM messages WHERE inbox_id = $1 AND direction = 'in'
		) latest`,
		[id],
	);
	const counts = await db.all(
		"SELECT status, COUNT(*) AS n, MIN(received_at) AS oldest FROM spool WHERE inbox_id = $1 AND status IN ('pending', 'failed', 'quarantined') GROUP BY status",
		[id],
	);
	const of = (status: SpoolEntry['status']) => counts.find((row) => row.status === status);
	return {
		heartbeat: heartbeat ? toHeartbeat(heartbeat) : null,
		lastReceivedAt: text(latest?.at),
		backlog: { count: Number(of('pending')?.n ?? 0), oldestReceivedAt: text(of('pending')?.oldest) },
		failed: Number(of('failed')?.n ?? 0),
		quarantined: Number(of('quarantined')?.n ?? 0),
	};
}
