import { InvalidInputError } from '../../errors';
import type { ReplayStore } from '../roles';
import type { SqlDriver } from '../sql';
import { checkText } from '../validate';

import { checkTimestamp, now } from './clock';
import { inboxIdOf } from './references';
import { one } from './rows';

/** Longer than any provider's token or signature (Mailgun's token is 50 characters, an HMAC-SHA256 hex 64). */
export const MAX_REPLAY_TOKEN_LENGTH = 256;

function checkToken(token: unknown): string {
	const checked = checkText(token, 'Replay token');
	if (checked.length > MAX_REPLAY_TOKEN_LENGTH) throw new InvalidInputError(`Replay token must be at most ${MAX_REPLAY_TOKEN_LENGTH} characters`);
	return checked;
}

/** The HTTP door's replay cache: each signed request's token taken once, until it expires. */
export function replayStore(db: SqlDriver): ReplayStore {
	return {
		async claimReplayToken(inboxId, token, expiresAt, at = now()) {
			const id = await inboxIdOf(db, inboxId);
			// One statement: the row is inserted, or an expired one taken over; a live one leaves nothing to return.
			const row = await one(
				db,
				`INSERT INTO http_replays (inbox_id, token, expires_at) VALUES ($1, $2, $3)
				ON CONFLICT (inbox_id, token) DO UPDATE SET expires_at = excluded.expires_at WHERE http_replays.expires_at <= $4
				RETURNING token`,
				[id, checkToken(token), checkTimestamp(expiresAt, 'expiresAt'), checkTimestamp(at, 'at')],
			);
			return row !== null;
		},

		async releaseReplayToken(inboxId, token) {
			await db.run('DELETE FROM http_replays WHERE inbox_id = $1 AND token = $2', [await inboxIdOf(db, inboxId), checkToken(token)]);
		},
	};
}
