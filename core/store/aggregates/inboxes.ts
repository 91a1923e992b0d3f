import { randomUUID } from 'node:crypto';

import type { InboxStore } from '../roles';
import type { Row, SqlDriver } from '../sql';
import { type Inbox } from '../types';
import { InvalidInputError } from '../../errors';
import { checkEmail, checkRetention } from '../validate';

import { toAgent } from './agents';
import { now } from './clock';
import { inboxHealthFacts } from './heartbeats';
import { inboxRow, requireAgent } from './references';
import { json, one, text } from './rows';

function toInbox(row: Row): Inbox {
	return {
		id: String(row.id),
		address: String(row.address),
		fromName: text(row.from_name),
		fromAddress: text(row.from_address),
		retention: json(row.retention, null),
		createdAt: String(row.created_at),
	};
}

export function inboxStore(db: SqlDriver): InboxStore {
	return {
		async registerInbox(input) {
			const { email: address, key } = checkEmail(input.address, 'inbox');
			const retention = input.retention === undefined ? undefined : checkRetention(input.retention);
			const fromName = input.fromName === undefined ? undefined : input.fromName === null || input.fromName.trim() === '' ? null : input.fromName.trim();
			const fromAddress = input.fromAddress === undefined || input.fromAddress === null ? input.fromAddress : checkEmail(input.fromAddress, 'from-address').email;
			return db.transaction(async (q) => {
				if (fromName) {
					const holder = await one(q, 'SELECT address FROM inboxes WHERE from_name_key = $1 AND address_key <> $2', [fromName.toLowerCase(), key]);
					if (holder) throw new InvalidInputError(`The from-name "${fromName}" is already used by the inbox ${String(holder.address)}; one from-name may serve only one hosted address`);
				}
				const existing = await one(q, `SELECT * FROM inboxes WHERE address_key = $1${db.forUpdate}`, [key]);
				if (!existing) {
					const row = await one(
						q,
						'INSERT INTO inboxes (id, address, address_key, from_name, from_name_key, from_address, retention, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (address_key) DO NOTHING RETURNING *',
						[randomUUID(), address, key, fromName ?? null, fromName ? fromName.toLowerCase() : null, fromAddress ?? null, retention ? JSON.stringify(retention) : null, now()],
					);
					// A concurrent registration of the same address won: ours becomes an update of it.
					if (row) return toInbox(row);
				}
				const current = existing ?? (await inboxRow(q, key));
				const nextName = fromName === undefined ? text(current.from_name) : fromName;
				const nextAddress = fromAddress === undefined ? text(current.from_address) : fromAddress;
				const nextRetention = retention === undefined ? text(current.retention) : retention && JSON.stringify(retention);
				const row = await one(q, 'UPDATE inboxes SET from_name = $2, from_name_key = $3, from_address = $4, retention = $5 WHERE id = $1 RETURNING *', [
					String(current.id),
					nextName,
					nextName ? nextName.toLowerCase() : null,
					nextAddress,
					nextRetention,
				]);
				return toInbox(row!);
			});
		},

		async getInbox(address) {
			const row = await one(db, 'SELECT * FROM inboxes WHERE address_key = $1 OR id = $2', [String(address).trim().toLowerCase(), String(address)]);
			return row ? toInbox(row) : null;
		},

		async listInboxes() {
			return (await db.all('SELECT * FROM inboxes ORDER BY created_at, id')).map(toInbox);
		},

		async addInboxAgent(inboxId, agentId) {
			await db.transaction(async (q) => {
				const inbox = await inboxRow(q, inboxId);
				const agent = await requireAgent(q, agentId);
				await q.run('INSERT INTO inbox_agents (inbox_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [String(inbox.id), String(agent.id)]);
			});
		},

		async removeInboxAgent(inboxId, agentId) {
			await db.transaction(async (q) => {
				const inbox = await inboxRow(q, inboxId);
				const agent = await requireAgent(q, agentId);
				await q.run('DELETE FROM inbox_agents WHERE inbox_id = $1 AND agent_id = $2', [String(inbox.id), String(agent.id)]);
			});
		},

		async listInboxAgents(inboxId) {
			const inbox = await inboxRow(db, inboxId);
			const rows = await db.all('SELECT a.* FROM agents a JOIN inbox_agents ia ON ia.agent_id = a.id WHERE ia.inbox_id = $1 ORDER BY a.created_at, a.id', [String(inbox.id)]);
			return rows.map(toAgent);
		},

		inboxHealthFacts: (inboxId) => inboxHealthFacts(db, inboxId),
	};
}
