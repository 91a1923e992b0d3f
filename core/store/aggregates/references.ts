/** Lookups of what a caller names (an inbox, an agent, a team, a conversation) that turn an unknown one into a InvalidInputError. */
import type { Row, SqlExecutor } from '../sql';
import { InvalidInputError } from '../../errors';

import { one } from './rows';

export async function inboxRow(q: SqlExecutor, idOrAddress: string): Promise<Row> {
	const row = idOrAddress.includes('@')
		? await one(q, 'SELECT * FROM inboxes WHERE address_key = $1', [idOrAddress.trim().toLowerCase()])
		: await one(q, 'SELECT * FROM inboxes WHERE id = $1', [idOrAddress]);
	if (!row) throw new InvalidInputError(`Unknown inbox: ${idOrAddress}`);
	return row;
}

export async function inboxIdOf(q: SqlExecutor, idOrAddress: string): Promise<string> {
	return String((await inboxRow(q, idOrAddress)).id);
}

export async function agentRow(q: SqlExecutor, idOrEmail: string): Promise<Row | null> {
	if (typeof idOrEmail !== 'string') return null;
	return idOrEmail.includes('@')
		? one(q, 'SELECT * FROM agents WHERE email_key = $1', [idOrEmail.trim().toLowerCase()])
		: one(q, 'SELECT * FROM agents WHERE id = $1', [idOrEmail]);
}

export async function requireAgent(q: SqlExecutor, idOrEmail: string, what = 'agent'): Promise<Row> {
	const row = await agentRow(q, idOrEmail);
	if (!row) throw new InvalidInputError(`Unknown ${what}: ${idOrEmail}`);
	return row;
}

/** An optional agent reference (owner, assignee): null stays null, anything else must exist. */
export async function optionalAgentId(q: SqlExecutor, idOrEmail: string | null | undefined, what: string): Promise<string | null> {
	if (idOrEmail === null || idOrEmail === undefined || idOrEmail === '') return null;
	return String((await requireAgent(q, idOrEmail, what)).id);
}

export async function teamRow(q: SqlExecutor, idOrName: string): Promise<Row | null> {
	if (typeof idOrName !== 'string') return null;
	return (await one(q, 'SELECT * FROM teams WHERE id = $1', [idOrName])) ?? (await one(q, 'SELECT * FROM teams WHERE name_key = $1', [idOrName.trim().toLowerCase()]));
}

export async function requireTeam(q: SqlExecutor, idOrName: string): Promise<Row> {
	const row = await teamRow(q, idOrName);
	if (!row) throw new InvalidInputError(`Unknown team: ${idOrName}`);
	return row;
}

export async function conversationRow(q: SqlExecutor, id: string): Promise<Row> {
	const row = await one(q, 'SELECT * FROM conversations WHERE id = $1', [id]);
	if (!row) throw new InvalidInputError(`Unknown conversation: ${id}`);
	return row;
}
