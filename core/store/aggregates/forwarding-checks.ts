import { randomUUID } from 'node:crypto';

import type { ForwardingCheckStore } from '../roles';
import type { Row, SqlDriver } from '../sql';
import { type ForwardingCheck } from '../types';
import { InvalidInputError } from '../../errors';
import { checkEmail, checkText } from '../validate';

import { checkTimestamp, now } from './clock';
import { inboxIdOf } from './references';
import { json, one, text } from './rows';

function toForwardingCheck(row: Row, at = now()): ForwardingCheck {
	const status = row.status as ForwardingCheck['status'];
	return {
		id: String(row.id),
		inboxId: String(row.inbox_id),
		publicAddress: String(row.public_address),
		token: String(row.token),
		// A waiting check past its deadline has failed, whether or not anyone wrote that down.
		status: status === 'waiting' && String(row.deadline) <= at ? 'failed' : status,
		createdAt: String(row.created_at),
		deadline: String(row.deadline),
		verifiedAt: text(row.verified_at),
		evidence: json(row.evidence, null),
	};
}

/** Forwarding verification: a test message with a token, sent through the public address's forwarding. */
export function forwardingCheckStore(db: SqlDriver): ForwardingCheckStore {
	return {
		async createForwardingCheck(input) {
			const inboxId = await inboxIdOf(db, input.inboxId);
			const token = checkText(input.token, 'Forwarding check token');
			const row = await one(
				db,
				"INSERT INTO forwarding_checks (id, inbox_id, public_address, token, status, created_at, deadline, verified_at, evidence) VALUES ($1, $2, $3, $4, 'waiting', $5, $6, NULL, NULL) ON CONFLICT (token) DO NOTHING RETURNING *",
				[randomUUID(), inboxId, checkEmail(input.publicAddress, 'public forwarding').email, token, now(), checkTimestamp(input.deadline, 'deadline')],
			);
			if (!row) throw new InvalidInputError('This forwarding check token was already used');
			return toForwardingCheck(row);
		},

		async completeForwardingCheck(token, evidence, at = now()) {
			const when = checkTimestamp(at, 'at');
			const row = await one(
				db,
				"UPDATE forwarding_checks SET status = 'verified', verified_at = $2, evidence = $3 WHERE token = $1 AND status = 'waiting' AND deadline > $2 RETURNING *",
				[String(token), when, JSON.stringify(evidence ?? {})],
			);
			return row ? toForwardingCheck(row, when) : null;
		},

		async latestForwardingChecks(inboxId) {
			const rows = inboxId
				? await db.all('SELECT * FROM forwarding_checks WHERE inbox_id = $1 ORDER BY created_at DESC, id', [await inboxIdOf(db, inboxId)])
				: await db.all('SELECT * FROM forwarding_checks ORDER BY created_at DESC, id');
			const latest = new Map<string, Row>();
			for (const row of rows) if (!latest.has(String(row.inbox_id))) latest.set(String(row.inbox_id), row);
			const at = now();
			return [...latest.values()].map((row) => toForwardingCheck(row, at));
		},

		async failForwardingCheck(id, evidence) {
			const row = await one(db, "UPDATE forwarding_checks SET status = 'failed', evidence = $2 WHERE id = $1 AND status = 'waiting' RETURNING *", [
				String(id),
				JSON.stringify(evidence ?? {}),
			]);
			return row ? toForwardingCheck(row) : null;
		},
	};
}
