import { randomUUID } from 'node:crypto';

import type { ContactStore } from '../roles';
import { placeholders, type Row, type SqlDriver } from '../sql';
import { type Contact } from '../types';
import { InvalidInputError } from '../../errors';
import { checkEmail } from '../validate';

import { now } from './clock';
import { inboxIdOf, inboxRow, optionalAgentId } from './references';
import { one, text, unique } from './rows';

function toContact(row: Row): Contact {
	return {
		id: String(row.id),
		inboxId: String(row.inbox_id),
		email: String(row.email),
		name: text(row.name),
		ownerId: text(row.owner_id),
		createdAt: String(row.created_at),
		updatedAt: String(row.updated_at),
	};
}

/** Contacts: an email is unique per inbox, case-insensitive. */
export function contactStore(db: SqlDriver): ContactStore {
	return {
		async findOrCreateContact(inboxId, input) {
			const { email, key } = checkEmail(input.email, 'contact');
			const name = input.name?.trim() || null;
			const inbox = await inboxIdOf(db, inboxId);
			const at = now();
			// ON CONFLICT: concurrent first messages from one sender create one contact; the losers read the winner's row.
			const created = await one(
				db,
				'INSERT INTO contacts (id, inbox_id, email, email_key, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $6) ON CONFLICT (inbox_id, email_key) DO NOTHING RETURNING *',
				[randomUUID(), inbox, email, key, name, at],
			);
			if (created) return { contact: toContact(created), created: true };
			const existing = await one(db, 'SELECT * FROM contacts WHERE inbox_id = $1 AND email_key = $2', [inbox, key]);
			return { contact: toContact(existing!), created: false };
		},

		async getContact(id) {
			const row = await one(db, 'SELECT * FROM contacts WHERE id = $1', [id]);
			return row ? toContact(row) : null;
		},

		async findContactByEmail(inboxId, email) {
			const inbox = await inboxIdOf(db, inboxId);
			const row = await one(db, 'SELECT * FROM contacts WHERE inbox_id = $1 AND email_key = $2', [inbox, String(email).trim().toLowerCase()]);
			return row ? toContact(row) : null;
		},

		async createContact(inboxId, input) {
			const { email, key } = checkEmail(input.email, 'contact');
			return db.transaction(async (q) => {
				const inbox = await inboxRow(q, inboxId);
				const ownerId = await optionalAgentId(q, input.ownerId, 'owner agent');
				const at = now();
				const row = await one(
					q,
					'INSERT INTO contacts (id, inbox_id, email, email_key, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (inbox_id, email_key) DO NOTHING RETURNING *',
					[randomUUID(), String(inbox.id), email, key, input.name?.trim() || null, ownerId, at],
				);
				if (!row) throw new InvalidInputError(`A contact with the email ${email} already exists in the inbox ${String(inbox.address)}`);
				return toContact(row);
			});
		},

		async updateContact(id, patch) {
			return db.transaction(async (q) => {
				const current = await one(q, 'SELECT * FROM contacts WHERE id = $1', [id]);
				if (!current) throw new InvalidInputError(`Unknown contact: ${id}`);
				const name = patch.name === undefined ? text(current.name) : patch.name?.trim() || null;
				const ownerId = patch.ownerId === undefined ? text(current.owner_id) : await optionalAgentId(q, patch.ownerId, 'owner agent');
				const row = await one(q, 'UPDATE contacts SET name = $2, owner_id = $3, updated_at = $4 WHERE id = $1 RETURNING *', [id, name, ownerId, now()]);
				return toContact(row!);
			});
		},

		async listContacts(inboxId) {
			if (inboxId === undefined) return (await db.all('SELECT * FROM contacts ORDER BY created_at, id')).map(toContact);
			return (await db.all('SELECT * FROM contacts WHERE inbox_id = $1 ORDER BY created_at, id', [await inboxIdOf(db, inboxId)])).map(toContact);
		},

		async importContacts(inboxId, contacts) {
			// Every address is checked before the first write, so a bad row changes nothing.
			const rows = contacts.map((contact, i) => ({ ...checkEmail(contact.email, `contacts[${i}]`), name: contact.name?.trim() || null, owner: contact.ownerId ?? null }));
			return db.transaction(async (q) => {
				const inbox = await inboxIdOf(q, inboxId);
				const owners = new Map<string, string | null>();
				for (const owner of unique(rows.map((row) => row.owner))) owners.set(String(owner), await optionalAgentId(q, owner, 'owner agent'));
				let created = 0;
				const at = now();
				for (let start = 0; start < rows.length; start += 100) {
					const chunk = rows.slice(start, start + 100);
					const values = chunk.map((_, i) => `($${i * 5 + 3}, $2, ${placeholders(i * 5 + 4, 4)}, $1, $1)`).join(', ');
					created += await q.run(`INSERT INTO contacts (id, inbox_id, email, email_key, name, owner_id, created_at, updated_at) VALUES ${values} ON CONFLICT (inbox_id, email_key) DO NOTHING`, [
						at,
						inbox,
						...chunk.flatMap((row) => [randomUUID(), row.email, row.key, row.name, owners.get(String(row.owner)) ?? null]),
					]);
				}
				return { created, existing: rows.length - created };
			});
		},
	};
}
