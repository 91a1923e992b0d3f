import { randomUUID } from 'node:crypto';

import type { IntakeDecision } from '../intake/types';

import { likeAny, mentions, rawMentions, redact } from './mentions';
import { contentMessageId, fieldsHash, normalizeMessageId } from './message-id';
import { placeholders, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from './sql';
import { StoreInputError, type Agent, type AssignmentLogEntry, type Availability, type Contact, type Conversation, type ConversationStatus, type ErasureCounts, type ForwardingCheck, type Inbox, type IntakeLogEntry, type IntakeLogKind, type MailboxCheckpoint, type PurgeCounts, type PurgeCutoffs, type RecordMessageInput, type RecordMessageResult, type SendingDomain, type InboxHealthFacts, type SpoolEntry, type SpoolHead, type StoredMessage, type Team, type Ticket, type TicketInput, type TriggerHeartbeat } from './types';
import type { Store } from './roles';
import { checkAvailability, checkCapacity, checkEmail, checkRetention, checkText, checkWorkingHours } from './validate';

const INTAKE_KINDS: IntakeLogKind[] = ['rejected', 'quarantined', 'deferred', 'forwarding-confirmation', 'forwarding-test'];
const DEFAULT_PIPELINE = 'support';
const DEFAULT_STAGE = 'new';
const CLOSED_STAGE = 'closed';

let lastNow = 0;
/**
 * Strictly increasing within the process (a millisecond later than the last when the clock has not moved on), so
 * "the first recorded" (ORDER BY created_at) is never a tie broken by a random id.
 */
function now(): string {
	lastNow = Math.max(Date.now(), lastNow + 1);
	return new Date(lastNow).toISOString();
}
const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const json = <T>(value: unknown, fallback: T): T => (value === null || value === undefined ? fallback : (JSON.parse(String(value)) as T));

function toAgent(row: Row): Agent {
	return {
		id: String(row.id),
		email: String(row.email),
		firstName: String(row.first_name),
		fullName: String(row.full_name),
		availability: row.availability as Availability,
		workingHours: json(row.working_hours, null),
		capacity: row.capacity === null ? null : Number(row.capacity),
		active: Number(row.active) === 1,
		createdAt: String(row.created_at),
		updatedAt: String(row.updated_at),
	};
}

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

function toConversation(row: Row): Conversation {
	return {
		id: String(row.id),
		inboxId: String(row.inbox_id),
		contactId: String(row.contact_id),
		status: row.status as ConversationStatus,
		assigneeId: text(row.assignee_id),
		teamId: text(row.team_id),
		subject: String(row.subject),
		createdAt: String(row.created_at),
		lastMessageAt: String(row.last_message_at),
	};
}

function toMessage(row: Row): StoredMessage {
	return {
		id: String(row.id),
		conversationId: String(row.conversation_id),
		direction: row.direction as 'in' | 'out',
		messageId: String(row.message_id),
		inReplyTo: json(row.in_reply_to, []),
		references: json(row.refs, []),
		from: String(row.from_address),
		to: json(row.to_addresses, []),
		cc: json(row.cc_addresses, []),
		subject: String(row.subject),
		text: String(row.text_body),
		html: text(row.html_body),
		size: Number(row.size),
		receivedAt: String(row.received_at),
		authSummary: text(row.auth_summary),
		originalSenderMethod: text(row.original_sender_method),
		senderAgentId: text(row.sender_agent_id),
		threadRefused: text(row.thread_refused),
	};
}

function toTicket(row: Row): Ticket {
	return {
		id: String(row.id),
		conversationId: String(row.conversation_id),
		name: String(row.name),
		pipeline: String(row.pipeline),
		stage: String(row.stage),
		priority: text(row.priority),
		ownerId: text(row.owner_id),
		properties: json(row.properties, {}),
		createdAt: String(row.created_at),
		closedAt: text(row.closed_at),
	};
}

function toAssignment(row: Row): AssignmentLogEntry {
	return {
		id: String(row.id),
		conversationId: String(row.conversation_id),
		assigneeId: text(row.assignee_id),
		teamId: text(row.team_id),
		rule: String(row.rule),
		reason: String(row.reason),
		at: String(row.at),
	};
}

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

/** Enough of a spooled message to show its From and Subject in a list. */
const SPOOL_HEAD_BYTES = 64 * 1024;
const SPOOL_STATUSES: Array<SpoolEntry['status']> = ['pending', 'done', 'failed', 'quarantined'];

const bytes = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array));

function toSpool(row: Row): SpoolEntry {
	return {
		id: String(row.id),
		inboxId: String(row.inbox_id),
		raw: bytes(row.raw),
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

function toSendingDomain(row: Row): SendingDomain {
	return {
		domain: String(row.domain),
		selector: String(row.selector),
		publicKey: String(row.public_key),
		verified: Number(row.verified) === 1,
		verifiedAt: text(row.verified_at),
		lastCheck: json(row.last_check, null),
	};
}

function checkTimestamp(value: unknown, what: string): string {
	const date = typeof value === 'string' ? new Date(value) : null;
	if (!date || Number.isNaN(date.getTime())) throw new StoreInputError(`${what} must be an ISO date-time, not ${JSON.stringify(value)}`);
	return date.toISOString();
}

function unique<T>(values: T[]): T[] {
	return [...new Set(values)];
}

/** In-Reply-To / References as the store keeps them: normalised, unusable ones dropped, each once. */
function checkUids(uids: number[]): number[] {
	const checked = unique(uids);
	if (checked.some((uid) => !Number.isInteger(uid) || uid <= 0)) throw new StoreInputError(`UIDs must be positive whole numbers, got ${JSON.stringify(uids)}`);
	return checked;
}

function messageIds(values: string[] | undefined): string[] {
	return unique((values ?? []).map(normalizeMessageId).filter((id): id is string => id !== null));
}

/** Text columns of other people's records where an erased address is replaced by `[erased]` (identity columns aside: Message-ID, sender key, hash). */
const REDACTED_COLUMNS: Array<[table: string, columns: string[]]> = [
	['conversations', ['subject']],
	['messages', ['in_reply_to', 'refs', 'thread_refused', 'from_address', 'to_addresses', 'cc_addresses', 'subject', 'text_body', 'html_body', 'auth_summary', 'original_sender_method']],
	['tickets', ['name', 'pipeline', 'stage', 'priority', 'properties']],
	['assignment_log', ['rule', 'reason']],
];

/** Thrown inside recordMessage's transaction when a concurrent caller stored the same message first: roll back, report a duplicate. */
class Replay extends Error {}

/** The store on any SqlDriver: every statement is portable between SQLite >= 3.35 and PostgreSQL. */
export class SqlStore implements Store {
	readonly engine: 'sqlite' | 'postgres';
	readonly location: string;

	constructor(private readonly db: SqlDriver) {
		this.engine = db.engine;
		this.location = db.location;
	}

	close(): Promise<void> {
		return this.db.close();
	}

	private async one(q: SqlExecutor, sql: string, params: SqlValue[]): Promise<Row | null> {
		return (await q.all(sql, params))[0] ?? null;
	}

	// ---- lookups that turn an unknown reference into a StoreInputError

	private async inboxRow(q: SqlExecutor, idOrAddress: string): Promise<Row> {
		const row = idOrAddress.includes('@')
			? await this.one(q, 'SELECT * FROM inboxes WHERE address_key = $1', [idOrAddress.trim().toLowerCase()])
			: await this.one(q, 'SELECT * FROM inboxes WHERE id = $1', [idOrAddress]);
		if (!row) throw new StoreInputError(`Unknown inbox: ${idOrAddress}`);
		return row;
	}

	private async agentRow(q: SqlExecutor, idOrEmail: string): Promise<Row | null> {
		if (typeof idOrEmail !== 'string') return null;
		return idOrEmail.includes('@')
			? this.one(q, 'SELECT * FROM agents WHERE email_key = $1', [idOrEmail.trim().toLowerCase()])
			: this.one(q, 'SELECT * FROM agents WHERE id = $1', [idOrEmail]);
	}

	private async requireAgent(q: SqlExecutor, idOrEmail: string, what = 'agent'): Promise<Row> {
		const row = await this.agentRow(q, idOrEmail);
		if (!row) throw new StoreInputError(`Unknown ${what}: ${idOrEmail}`);
		return row;
	}

	/** An optional agent reference (owner, assignee): null stays null, anything else must exist. */
	private async optionalAgentId(q: SqlExecutor, idOrEmail: string | null | undefined, what: string): Promise<string | null> {
		if (idOrEmail === null || idOrEmail === undefined || idOrEmail === '') return null;
		return String((await this.requireAgent(q, idOrEmail, what)).id);
	}

	private async teamRow(q: SqlExecutor, idOrName: string): Promise<Row | null> {
		if (typeof idOrName !== 'string') return null;
		return (
			(await this.one(q, 'SELECT * FROM teams WHERE id = $1', [idOrName])) ??
			(await this.one(q, 'SELECT * FROM teams WHERE name_key = $1', [idOrName.trim().toLowerCase()]))
		);
	}

	private async requireTeam(q: SqlExecutor, idOrName: string): Promise<Row> {
		const row = await this.teamRow(q, idOrName);
		if (!row) throw new StoreInputError(`Unknown team: ${idOrName}`);
		return row;
	}

	private async conversationRow(q: SqlExecutor, id: string): Promise<Row> {
		const row = await this.one(q, 'SELECT * FROM conversations WHERE id = $1', [id]);
		if (!row) throw new StoreInputError(`Unknown conversation: ${id}`);
		return row;
	}

	// ---- inboxes

	async registerInbox(input: Parameters<Store['registerInbox']>[0]): Promise<Inbox> {
		const { email: address, key } = checkEmail(input.address, 'inbox');
		const retention = input.retention === undefined ? undefined : checkRetention(input.retention);
		const fromName = input.fromName === undefined ? undefined : input.fromName === null || input.fromName.trim() === '' ? null : input.fromName.trim();
		const fromAddress = input.fromAddress === undefined || input.fromAddress === null ? input.fromAddress : checkEmail(input.fromAddress, 'from-address').email;
		return this.db.transaction(async (q) => {
			if (fromName) {
				const holder = await this.one(q, 'SELECT address FROM inboxes WHERE from_name_key = $1 AND address_key <> $2', [fromName.toLowerCase(), key]);
				if (holder) throw new StoreInputError(`The from-name "${fromName}" is already used by the inbox ${String(holder.address)}; one from-name may serve only one hosted address`);
			}
			const existing = await this.one(q, `SELECT * FROM inboxes WHERE address_key = $1${this.db.forUpdate}`, [key]);
			if (!existing) {
				const row = await this.one(
					q,
					'INSERT INTO inboxes (id, address, address_key, from_name, from_name_key, from_address, retention, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (address_key) DO NOTHING RETURNING *',
					[randomUUID(), address, key, fromName ?? null, fromName ? fromName.toLowerCase() : null, fromAddress ?? null, retention ? JSON.stringify(retention) : null, now()],
				);
				// A concurrent registration of the same address won: ours becomes an update of it.
				if (row) return toInbox(row);
			}
			const current = existing ?? (await this.inboxRow(q, key));
			const nextName = fromName === undefined ? text(current.from_name) : fromName;
			const nextAddress = fromAddress === undefined ? text(current.from_address) : fromAddress;
			const nextRetention = retention === undefined ? text(current.retention) : retention && JSON.stringify(retention);
			const row = await this.one(q, 'UPDATE inboxes SET from_name = $2, from_name_key = $3, from_address = $4, retention = $5 WHERE id = $1 RETURNING *', [
				String(current.id),
				nextName,
				nextName ? nextName.toLowerCase() : null,
				nextAddress,
				nextRetention,
			]);
			return toInbox(row!);
		});
	}

	async getInbox(address: string): Promise<Inbox | null> {
		const row = await this.one(this.db, 'SELECT * FROM inboxes WHERE address_key = $1 OR id = $2', [String(address).trim().toLowerCase(), String(address)]);
		return row ? toInbox(row) : null;
	}

	async listInboxes(): Promise<Inbox[]> {
		return (await this.db.all('SELECT * FROM inboxes ORDER BY created_at, id')).map(toInbox);
	}

	async addInboxAgent(inboxId: string, agentId: string): Promise<void> {
		await this.db.transaction(async (q) => {
			const inbox = await this.inboxRow(q, inboxId);
			const agent = await this.requireAgent(q, agentId);
			await q.run('INSERT INTO inbox_agents (inbox_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [String(inbox.id), String(agent.id)]);
		});
	}

	async removeInboxAgent(inboxId: string, agentId: string): Promise<void> {
		await this.db.transaction(async (q) => {
			const inbox = await this.inboxRow(q, inboxId);
			const agent = await this.requireAgent(q, agentId);
			await q.run('DELETE FROM inbox_agents WHERE inbox_id = $1 AND agent_id = $2', [String(inbox.id), String(agent.id)]);
		});
	}

	async listInboxAgents(inboxId: string): Promise<Agent[]> {
		const inbox = await this.inboxRow(this.db, inboxId);
		const rows = await this.db.all(
			'SELECT a.* FROM agents a JOIN inbox_agents ia ON ia.agent_id = a.id WHERE ia.inbox_id = $1 ORDER BY a.created_at, a.id',
			[String(inbox.id)],
		);
		return rows.map(toAgent);
	}

	// ---- agents

	async createAgent(input: Pick<Agent, 'email' | 'firstName' | 'fullName'> & Partial<Pick<Agent, 'availability' | 'workingHours' | 'capacity'>>): Promise<Agent> {
		const { email, key } = checkEmail(input.email, 'agent');
		const firstName = checkText(input.firstName, 'First name');
		const fullName = checkText(input.fullName, 'Full name');
		const availability = checkAvailability(input.availability ?? 'available');
		const workingHours = checkWorkingHours(input.workingHours);
		const capacity = checkCapacity(input.capacity);
		const at = now();
		const row = await this.one(
			this.db,
			`INSERT INTO agents (id, email, email_key, first_name, full_name, availability, working_hours, capacity, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) ON CONFLICT (email_key) DO NOTHING RETURNING *`,
			[randomUUID(), email, key, firstName, fullName, availability, workingHours ? JSON.stringify(workingHours) : null, capacity, at],
		);
		if (!row) throw new StoreInputError(`An agent with the email ${email} already exists`);
		return toAgent(row);
	}

	async updateAgent(idOrEmail: string, patch: Partial<Pick<Agent, 'firstName' | 'fullName' | 'availability' | 'workingHours' | 'capacity' | 'active'>>): Promise<Agent> {
		const sets: string[] = [];
		const params: SqlValue[] = [];
		const set = (column: string, value: SqlValue) => {
			params.push(value);
			sets.push(`${column} = $${params.length + 1}`);
		};
		if (patch.firstName !== undefined) set('first_name', checkText(patch.firstName, 'First name'));
		if (patch.fullName !== undefined) set('full_name', checkText(patch.fullName, 'Full name'));
		if (patch.availability !== undefined) set('availability', checkAvailability(patch.availability));
		if (patch.workingHours !== undefined) {
			const hours = checkWorkingHours(patch.workingHours);
			set('working_hours', hours ? JSON.stringify(hours) : null);
		}
		if (patch.capacity !== undefined) set('capacity', checkCapacity(patch.capacity));
		if (patch.active !== undefined) {
			if (typeof patch.active !== 'boolean') throw new StoreInputError(`active must be true or false, not ${JSON.stringify(patch.active)}`);
			set('active', patch.active ? 1 : 0);
		}
		set('updated_at', now());
		return this.db.transaction(async (q) => {
			const agent = await this.requireAgent(q, idOrEmail);
			const row = await this.one(q, `UPDATE agents SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, [String(agent.id), ...params]);
			return toAgent(row!);
		});
	}

	async getAgent(idOrEmail: string): Promise<Agent | null> {
		const row = await this.agentRow(this.db, idOrEmail);
		return row ? toAgent(row) : null;
	}

	async listAgents(filter: { active?: boolean; availability?: Availability } = {}): Promise<Agent[]> {
		const where: string[] = [];
		const params: SqlValue[] = [];
		if (filter.active !== undefined) {
			params.push(filter.active ? 1 : 0);
			where.push(`active = $${params.length}`);
		}
		if (filter.availability !== undefined) {
			params.push(checkAvailability(filter.availability));
			where.push(`availability = $${params.length}`);
		}
		const rows = await this.db.all(`SELECT * FROM agents${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`, params);
		return rows.map(toAgent);
	}

	// ---- teams

	private async toTeam(q: SqlExecutor, row: Row): Promise<Team> {
		const members = await q.all('SELECT tm.agent_id FROM team_members tm JOIN agents a ON a.id = tm.agent_id WHERE tm.team_id = $1 ORDER BY a.created_at, a.id', [
			String(row.id),
		]);
		return { id: String(row.id), name: String(row.name), memberIds: members.map((member) => String(member.agent_id)) };
	}

	async createTeam(name: string): Promise<Team> {
		const teamName = checkText(name, 'Team name');
		const row = await this.one(this.db, 'INSERT INTO teams (id, name, name_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name_key) DO NOTHING RETURNING *', [
			randomUUID(),
			teamName,
			teamName.toLowerCase(),
			now(),
		]);
		if (!row) throw new StoreInputError(`A team named "${teamName}" already exists`);
		return { id: String(row.id), name: String(row.name), memberIds: [] };
	}

	async getTeam(idOrName: string): Promise<Team | null> {
		const row = await this.teamRow(this.db, idOrName);
		return row ? this.toTeam(this.db, row) : null;
	}

	async addTeamMember(teamIdOrName: string, agentIdOrEmail: string): Promise<Team> {
		return this.db.transaction(async (q) => {
			const team = await this.requireTeam(q, teamIdOrName);
			const agent = await this.requireAgent(q, agentIdOrEmail);
			await q.run('INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [String(team.id), String(agent.id)]);
			return this.toTeam(q, team);
		});
	}

	async removeTeamMember(teamIdOrName: string, agentIdOrEmail: string): Promise<Team> {
		return this.db.transaction(async (q) => {
			const team = await this.requireTeam(q, teamIdOrName);
			const agent = await this.requireAgent(q, agentIdOrEmail);
			await q.run('DELETE FROM team_members WHERE team_id = $1 AND agent_id = $2', [String(team.id), String(agent.id)]);
			return this.toTeam(q, team);
		});
	}

	async listTeams(): Promise<Team[]> {
		const teams = await this.db.all('SELECT * FROM teams ORDER BY created_at, id');
		const members = await this.db.all('SELECT tm.team_id, tm.agent_id FROM team_members tm JOIN agents a ON a.id = tm.agent_id ORDER BY a.created_at, a.id');
		return teams.map((row) => ({
			id: String(row.id),
			name: String(row.name),
			memberIds: members.filter((member) => member.team_id === row.id).map((member) => String(member.agent_id)),
		}));
	}

	// ---- contacts

	async findOrCreateContact(inboxId: string, input: { email: string; name?: string | null }): Promise<{ contact: Contact; created: boolean }> {
		const { email, key } = checkEmail(input.email, 'contact');
		const name = input.name?.trim() || null;
		const inbox = await this.inboxRow(this.db, inboxId);
		const at = now();
		// ON CONFLICT: concurrent first messages from one sender create one contact; the losers read the winner's row.
		const created = await this.one(
			this.db,
			'INSERT INTO contacts (id, inbox_id, email, email_key, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $6) ON CONFLICT (inbox_id, email_key) DO NOTHING RETURNING *',
			[randomUUID(), String(inbox.id), email, key, name, at],
		);
		if (created) return { contact: toContact(created), created: true };
		const existing = await this.one(this.db, 'SELECT * FROM contacts WHERE inbox_id = $1 AND email_key = $2', [String(inbox.id), key]);
		return { contact: toContact(existing!), created: false };
	}

	async getContact(id: string): Promise<Contact | null> {
		const row = await this.one(this.db, 'SELECT * FROM contacts WHERE id = $1', [id]);
		return row ? toContact(row) : null;
	}

	async findContactByEmail(inboxId: string, email: string): Promise<Contact | null> {
		const inbox = await this.inboxRow(this.db, inboxId);
		const row = await this.one(this.db, 'SELECT * FROM contacts WHERE inbox_id = $1 AND email_key = $2', [String(inbox.id), String(email).trim().toLowerCase()]);
		return row ? toContact(row) : null;
	}

	async createContact(inboxId: string, input: { email: string; name?: string | null; ownerId?: string | null }): Promise<Contact> {
		const { email, key } = checkEmail(input.email, 'contact');
		return this.db.transaction(async (q) => {
			const inbox = await this.inboxRow(q, inboxId);
			const ownerId = await this.optionalAgentId(q, input.ownerId, 'owner agent');
			const at = now();
			const row = await this.one(
				q,
				'INSERT INTO contacts (id, inbox_id, email, email_key, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (inbox_id, email_key) DO NOTHING RETURNING *',
				[randomUUID(), String(inbox.id), email, key, input.name?.trim() || null, ownerId, at],
			);
			if (!row) throw new StoreInputError(`A contact with the email ${email} already exists in the inbox ${String(inbox.address)}`);
			return toContact(row);
		});
	}

	async updateContact(id: string, patch: { name?: string | null; ownerId?: string | null }): Promise<Contact> {
		return this.db.transaction(async (q) => {
			const current = await this.one(q, 'SELECT * FROM contacts WHERE id = $1', [id]);
			if (!current) throw new StoreInputError(`Unknown contact: ${id}`);
			const name = patch.name === undefined ? text(current.name) : patch.name?.trim() || null;
			const ownerId = patch.ownerId === undefined ? text(current.owner_id) : await this.optionalAgentId(q, patch.ownerId, 'owner agent');
			const row = await this.one(q, 'UPDATE contacts SET name = $2, owner_id = $3, updated_at = $4 WHERE id = $1 RETURNING *', [id, name, ownerId, now()]);
			return toContact(row!);
		});
	}

	async listContacts(inboxId?: string): Promise<Contact[]> {
		if (inboxId === undefined) return (await this.db.all('SELECT * FROM contacts ORDER BY created_at, id')).map(toContact);
		const inbox = await this.inboxRow(this.db, inboxId);
		return (await this.db.all('SELECT * FROM contacts WHERE inbox_id = $1 ORDER BY created_at, id', [String(inbox.id)])).map(toContact);
	}

	async importContacts(inboxId: string, contacts: Array<{ email: string; name?: string | null; ownerId?: string | null }>): Promise<{ created: number; existing: number }> {
		// Every address is checked before the first write, so a bad row changes nothing.
		const rows = contacts.map((contact, i) => ({ ...checkEmail(contact.email, `contacts[${i}]`), name: contact.name?.trim() || null, owner: contact.ownerId ?? null }));
		return this.db.transaction(async (q) => {
			const inbox = String((await this.inboxRow(q, inboxId)).id);
			const owners = new Map<string, string | null>();
			for (const owner of unique(rows.map((row) => row.owner))) owners.set(String(owner), await this.optionalAgentId(q, owner, 'owner agent'));
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
	}

	// ---- conversations and messages

	/** What makes a message the same message: its Message-ID (derived from the content when it has none), its From and its content hash. */
	private identity(input: Omit<RecordMessageInput, 'contactId'>) {
		const fields = { from: input.from ?? '', to: input.to ?? [], cc: input.cc ?? [], subject: input.subject ?? '', text: input.text ?? '', html: input.html ?? null };
		return {
			fields,
			messageId: (input.messageId ? normalizeMessageId(input.messageId) : null) ?? contentMessageId(fields),
			senderKey: fields.from.trim().toLowerCase(),
			contentHash: input.contentHash || fieldsHash(fields),
		};
	}

	/** The recorded message a copy with this identity replays; a row from before content hashes (NULL) matches on Message-ID and From. */
	private recorded(q: SqlExecutor, inboxId: string, id: ReturnType<SqlStore['identity']>): Promise<Row | null> {
		return this.one(q, 'SELECT * FROM messages WHERE inbox_id = $1 AND message_id = $2 AND sender_key = $3 AND (content_hash = $4 OR content_hash IS NULL) ORDER BY created_at, id LIMIT 1', [
			inboxId,
			id.messageId,
			id.senderKey,
			id.contentHash,
		]);
	}

	async findReplay(input: Omit<RecordMessageInput, 'contactId'>): Promise<StoredMessage | null> {
		const row = await this.recorded(this.db, String((await this.inboxRow(this.db, input.inboxId)).id), this.identity(input));
		return row ? toMessage(row) : null;
	}

	async recordMessage(input: RecordMessageInput): Promise<RecordMessageResult> {
		if (input.direction !== 'in' && input.direction !== 'out') throw new StoreInputError(`direction must be "in" or "out", not ${JSON.stringify(input.direction)}`);
		const receivedAt = checkTimestamp(input.receivedAt, 'receivedAt');
		const inReplyTo = messageIds(input.inReplyTo);
		const references = messageIds(input.references);
		const identity = this.identity(input);
		const { fields, messageId, senderKey, contentHash } = identity;
		const { to, cc } = fields;
		const inbox = await this.inboxRow(this.db, input.inboxId);
		const inboxId = String(inbox.id);
		const recorded = (q: SqlExecutor) => this.recorded(q, inboxId, identity);
		const replay = async (message: Row): Promise<RecordMessageResult> => {
			const conversation = await this.conversationRow(this.db, String(message.conversation_id));
			return { outcome: 'duplicate', conversation: toConversation(conversation), message: toMessage(message), reopened: false };
		};

		// A replay is the common case after a crash: answer it without opening a write transaction.
		const earlier = await recorded(this.db);
		if (earlier) return replay(earlier);
		return this.db
			.transaction(async (q): Promise<RecordMessageResult> => {
				const contact = await this.one(q, 'SELECT inbox_id FROM contacts WHERE id = $1', [input.contactId]);
				if (!contact || contact.inbox_id !== inboxId) throw new StoreInputError(`Unknown contact ${input.contactId} in the inbox ${String(inbox.address)}`);
				const senderAgentId = await this.optionalAgentId(q, input.senderAgentId, 'sender agent');

				let conversation: Row | null = null;
				let threadRefused: string | null = null;
				if (input.conversationId) {
					conversation = await this.conversationRow(q, input.conversationId);
					if (conversation.inbox_id !== inboxId) throw new StoreInputError(`Conversation ${input.conversationId} is not in the inbox ${String(inbox.address)}`);
				} else {
					const sender = input.direction === 'in' ? (input.sender ?? fields.from) : null;
					const keys = unique([...inReplyTo, ...[...references].reverse()]);
					({ conversation, refused: threadRefused } = await this.threadOf(q, inbox, keys, sender, input.senderAuthenticated === true));
				}
				let outcome: RecordMessageResult['outcome'] = 'existing-conversation';
				if (!conversation) {
					outcome = 'new-conversation';
					conversation = await this.one(
						q,
						"INSERT INTO conversations (id, inbox_id, contact_id, status, assignee_id, team_id, subject, created_at, last_message_at) VALUES ($1, $2, $3, 'open', NULL, NULL, $4, $5, $6) RETURNING *",
						[randomUUID(), inboxId, input.contactId, input.conversationSubject || fields.subject, now(), receivedAt],
					);
				}
				const conversationId = String(conversation!.id);
				const message = await this.one(
					q,
					`INSERT INTO messages (id, inbox_id, conversation_id, direction, message_id, sender_key, content_hash, in_reply_to, refs, thread_refused, from_address,
						to_addresses, cc_addresses, subject, text_body, html_body, size, received_at, auth_summary, original_sender_method, sender_agent_id, created_at)
					VALUES (${placeholders(1, 22)}) ON CONFLICT (inbox_id, message_id, sender_key, content_hash) DO NOTHING RETURNING *`,
					[
						randomUUID(),
						inboxId,
						conversationId,
						input.direction,
						messageId,
						senderKey,
						contentHash,
						JSON.stringify(inReplyTo),
						JSON.stringify(references),
						threadRefused,
						fields.from,
						JSON.stringify(to),
						JSON.stringify(cc),
						fields.subject,
						fields.text,
						fields.html,
						Math.max(0, Math.trunc(Number(input.size) || 0)),
						receivedAt,
						input.authSummary ?? null,
						input.originalSenderMethod ?? null,
						senderAgentId,
						now(),
					],
				);
				// A concurrent caller committed this message while we threaded: undo our conversation, report the replay.
				if (!message) throw new Replay();
				const reopened = input.direction === 'in' && (await q.run("UPDATE conversations SET status = 'open' WHERE id = $1 AND status = 'closed'", [conversationId])) > 0;
				const updated = await this.one(
					q,
					'UPDATE conversations SET last_message_at = CASE WHEN last_message_at < $2 THEN $2 ELSE last_message_at END WHERE id = $1 RETURNING *',
					[conversationId, receivedAt],
				);
				return { outcome, conversation: toConversation(updated!), message: toMessage(message), reopened };
			})
			.catch(async (error: unknown) => (error instanceof Replay ? replay((await recorded(this.db))!) : Promise.reject(error)));
	}

	/**
	 * The conversation In-Reply-To / References lead to (keys in order: In-Reply-To first, then References from the
	 * most recent back, as mail clients order them; our outbound ids are stored messages too). Anyone can write these
	 * headers and a Message-ID is no secret, so an inbound message joins a conversation only when its sender is an
	 * authenticated agent, or that conversation's contact or a participant in it (an address in its From, To or Cc, the
	 * inbox's own addresses aside); otherwise it is refused, and why. Outbound (sender null) follows the keys.
	 */
	private async threadOf(q: SqlExecutor, inbox: Row, keys: string[], sender: string | null, authenticated: boolean): Promise<{ conversation: Row | null; refused: string | null }> {
		if (keys.length === 0) return { conversation: null, refused: null };
		const found = await q.all(`SELECT message_id, conversation_id FROM messages WHERE inbox_id = $1 AND message_id IN (${placeholders(2, keys.length)}) ORDER BY created_at, id`, [
			String(inbox.id),
			...keys,
		]);
		const candidates = unique(keys.flatMap((key) => found.filter((row) => row.message_id === key).map((row) => String(row.conversation_id))));
		if (candidates.length === 0) return { conversation: null, refused: null };
		const senderKey = sender?.trim().toLowerCase() ?? null;
		if (senderKey === null || (senderKey && authenticated && (await this.one(q, 'SELECT id FROM agents WHERE email_key = $1', [senderKey])))) {
			return { conversation: await this.conversationRow(q, candidates[0]), refused: null };
		}
		const list = placeholders(1, candidates.length);
		const contacts = await q.all(`SELECT c.id, ct.email_key FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id IN (${list})`, candidates);
		const messages = await q.all(`SELECT conversation_id, direction, from_address, to_addresses, cc_addresses FROM messages WHERE conversation_id IN (${list})`, candidates);
		const ours = new Set([String(inbox.address_key), text(inbox.from_address)?.toLowerCase()]);
		for (const id of candidates) {
			const participants = new Set(contacts.filter((c) => c.id === id).map((c) => String(c.email_key)));
			for (const m of messages.filter((row) => row.conversation_id === id)) {
				const addresses = [...(m.direction === 'in' ? [String(m.from_address)] : []), ...json<string[]>(m.to_addresses, []), ...json<string[]>(m.cc_addresses, [])];
				for (const address of addresses) if (!ours.has(address.trim().toLowerCase())) participants.add(address.trim().toLowerCase());
			}
			if (senderKey && participants.has(senderKey)) return { conversation: await this.conversationRow(q, id), refused: null };
		}
		return {
			conversation: null,
			refused: `In-Reply-To/References name conversation ${candidates.join(', ')}, but ${sender || 'the sender'} is not its contact, a participant in it or an authenticated agent: filed as a new conversation`,
		};
	}

	async findMessage(inboxId: string, messageId: string): Promise<StoredMessage | null> {
		const inbox = await this.inboxRow(this.db, inboxId);
		const row = await this.one(this.db, 'SELECT * FROM messages WHERE inbox_id = $1 AND message_id = $2 ORDER BY created_at, id LIMIT 1', [
			String(inbox.id),
			normalizeMessageId(messageId) ?? '',
		]);
		return row ? toMessage(row) : null;
	}

	async listMessages(conversationId: string): Promise<StoredMessage[]> {
		return (await this.db.all('SELECT * FROM messages WHERE conversation_id = $1 ORDER BY received_at, created_at, id', [conversationId])).map(toMessage);
	}

	async getConversation(id: string): Promise<Conversation | null> {
		const row = await this.one(this.db, 'SELECT * FROM conversations WHERE id = $1', [id]);
		return row ? toConversation(row) : null;
	}

	async listConversations(filter: { inboxId?: string; status?: ConversationStatus; assigneeId?: string } = {}): Promise<Conversation[]> {
		const where: string[] = [];
		const params: SqlValue[] = [];
		if (filter.inboxId !== undefined) {
			params.push(String((await this.inboxRow(this.db, filter.inboxId)).id));
			where.push(`inbox_id = $${params.length}`);
		}
		if (filter.status !== undefined) {
			params.push(filter.status);
			where.push(`status = $${params.length}`);
		}
		if (filter.assigneeId !== undefined) {
			params.push(filter.assigneeId);
			where.push(`assignee_id = $${params.length}`);
		}
		const rows = await this.db.all(`SELECT * FROM conversations${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY last_message_at DESC, id`, params);
		return rows.map(toConversation);
	}

	private async setStatus(id: string, status: ConversationStatus): Promise<Conversation> {
		const row = await this.one(this.db, 'UPDATE conversations SET status = $2 WHERE id = $1 RETURNING *', [id, status]);
		if (!row) throw new StoreInputError(`Unknown conversation: ${id}`);
		return toConversation(row);
	}

	closeConversation(id: string): Promise<Conversation> {
		return this.setStatus(id, 'closed');
	}

	reopenConversation(id: string): Promise<Conversation> {
		return this.setStatus(id, 'open');
	}

	private async assignment(q: SqlExecutor, input: { assigneeId: string | null; teamId: string | null; rule: string; reason: string }) {
		const assigneeId = await this.optionalAgentId(q, input.assigneeId, 'assignee agent');
		const teamId = input.teamId ? String((await this.requireTeam(q, input.teamId)).id) : null;
		return { assigneeId, teamId, rule: checkText(input.rule, 'Assignment rule'), reason: String(input.reason ?? '') };
	}

	private async logAssignment(q: SqlExecutor, conversationId: string, a: { assigneeId: string | null; teamId: string | null; rule: string; reason: string }) {
		await q.run('INSERT INTO assignment_log (id, conversation_id, assignee_id, team_id, rule, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
			randomUUID(),
			conversationId,
			a.assigneeId,
			a.teamId,
			a.rule,
			a.reason,
			now(),
		]);
	}

	async assignConversation(id: string, input: { assigneeId: string | null; teamId: string | null; rule: string; reason: string }): Promise<Conversation> {
		return this.db.transaction(async (q) => {
			await this.conversationRow(q, id);
			const a = await this.assignment(q, input);
			const row = await this.one(q, 'UPDATE conversations SET assignee_id = $2, team_id = $3 WHERE id = $1 RETURNING *', [id, a.assigneeId, a.teamId]);
			await this.logAssignment(q, id, a);
			return toConversation(row!);
		});
	}

	async assignConversationIfUnassigned(
		id: string,
		input: { assigneeId: string; teamId: string | null; rule: string; reason: string },
	): Promise<{ conversation: Conversation; assigned: boolean }> {
		return this.db.transaction(async (q) => {
			await this.conversationRow(q, id);
			const a = await this.assignment(q, input);
			if (!a.assigneeId) throw new StoreInputError('assignConversationIfUnassigned needs an assignee');
			// The WHERE makes it a compare-and-set: of two concurrent routers, exactly one assigns.
			const assigned = (await q.run('UPDATE conversations SET assignee_id = $2, team_id = $3 WHERE id = $1 AND assignee_id IS NULL', [id, a.assigneeId, a.teamId])) > 0;
			if (assigned) await this.logAssignment(q, id, a);
			return { conversation: toConversation(await this.conversationRow(q, id)), assigned };
		});
	}

	async listAssignmentLog(conversationId: string): Promise<AssignmentLogEntry[]> {
		return (await this.db.all('SELECT * FROM assignment_log WHERE conversation_id = $1 ORDER BY at, id', [conversationId])).map(toAssignment);
	}

	async countOpenConversations(agentIds: string[]): Promise<Record<string, number>> {
		const ids = unique(agentIds);
		const counts: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
		if (ids.length === 0) return counts;
		const rows = await this.db.all(
			`SELECT assignee_id, COUNT(*) AS open_count FROM conversations WHERE status = 'open' AND assignee_id IN (${placeholders(1, ids.length)}) GROUP BY assignee_id`,
			ids,
		);
		for (const row of rows) counts[String(row.assignee_id)] = Number(row.open_count);
		return counts;
	}

	async pickNextAgent(poolKey: string, candidateIds: string[]): Promise<string | null> {
		const key = checkText(poolKey, 'Pool key');
		// Sorted, so every caller sees the same order and the counter alone decides the turn.
		const ids = unique(candidateIds).sort();
		if (ids.length === 0) return null;
		return this.db.transaction(async (q) => {
			const known = new Set((await q.all(`SELECT id FROM agents WHERE id IN (${placeholders(1, ids.length)})`, ids)).map((row) => String(row.id)));
			const unknown = ids.filter((id) => !known.has(id));
			if (unknown.length > 0) throw new StoreInputError(`Unknown agent: ${unknown.join(', ')}`);
			const row = await this.one(
				q,
				'INSERT INTO round_robin (pool_key, counter) VALUES ($1, 1) ON CONFLICT (pool_key) DO UPDATE SET counter = round_robin.counter + 1 RETURNING counter',
				[key],
			);
			return ids[(Number(row!.counter) - 1) % ids.length];
		});
	}

	// ---- tickets

	async createTicketOnce(conversationId: string, input: TicketInput): Promise<{ ticket: Ticket; created: boolean }> {
		const name = checkText(input.name, 'Ticket name');
		return this.db.transaction(async (q) => {
			await this.conversationRow(q, conversationId);
			const ownerId = await this.optionalAgentId(q, input.ownerId, 'ticket owner');
			const row = await this.one(
				q,
				`INSERT INTO tickets (id, conversation_id, name, pipeline, stage, priority, owner_id, properties, created_at, closed_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) ON CONFLICT (conversation_id) DO NOTHING RETURNING *`,
				[
					randomUUID(),
					conversationId,
					name,
					input.pipeline?.trim() || DEFAULT_PIPELINE,
					input.stage?.trim() || DEFAULT_STAGE,
					input.priority ?? null,
					ownerId,
					JSON.stringify(input.properties ?? {}),
					now(),
				],
			);
			if (row) return { ticket: toTicket(row), created: true };
			const existing = await this.one(q, 'SELECT * FROM tickets WHERE conversation_id = $1', [conversationId]);
			return { ticket: toTicket(existing!), created: false };
		});
	}

	async getTicket(id: string): Promise<Ticket | null> {
		const row = await this.one(this.db, 'SELECT * FROM tickets WHERE id = $1', [id]);
		return row ? toTicket(row) : null;
	}

	async getTicketForConversation(conversationId: string): Promise<Ticket | null> {
		const row = await this.one(this.db, 'SELECT * FROM tickets WHERE conversation_id = $1', [conversationId]);
		return row ? toTicket(row) : null;
	}

	async listTickets(filter: { stage?: string; open?: boolean } = {}): Promise<Ticket[]> {
		const where: string[] = [];
		const params: SqlValue[] = [];
		if (filter.stage !== undefined) {
			params.push(filter.stage);
			where.push(`stage = $${params.length}`);
		}
		if (filter.open !== undefined) where.push(filter.open ? 'closed_at IS NULL' : 'closed_at IS NOT NULL');
		const rows = await this.db.all(`SELECT * FROM tickets${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`, params);
		return rows.map(toTicket);
	}

	/** Properties are merged into the ticket's (a key set to null is removed); the other fields are replaced when given. */
	async updateTicket(id: string, patch: Partial<TicketInput>): Promise<Ticket> {
		return this.db.transaction(async (q) => {
			const current = await this.one(q, `SELECT * FROM tickets WHERE id = $1${this.db.forUpdate}`, [id]);
			if (!current) throw new StoreInputError(`Unknown ticket: ${id}`);
			const ticket = toTicket(current);
			const properties = { ...ticket.properties, ...(patch.properties ?? {}) };
			for (const [key, value] of Object.entries(properties)) if (value === null) delete properties[key];
			const stage = patch.stage === undefined ? ticket.stage : checkText(patch.stage, 'Stage');
			// Moving a ticket to an open stage reopens it; the closed stage keeps (or sets) its closing time.
			const closedAt = stage === CLOSED_STAGE ? (ticket.closedAt ?? now()) : patch.stage === undefined ? ticket.closedAt : null;
			const row = await this.one(q, 'UPDATE tickets SET name = $2, pipeline = $3, stage = $4, priority = $5, owner_id = $6, properties = $7, closed_at = $8 WHERE id = $1 RETURNING *', [
				id,
				patch.name === undefined ? ticket.name : checkText(patch.name, 'Ticket name'),
				patch.pipeline === undefined ? ticket.pipeline : checkText(patch.pipeline, 'Pipeline'),
				stage,
				patch.priority === undefined ? ticket.priority : patch.priority,
				patch.ownerId === undefined ? ticket.ownerId : await this.optionalAgentId(q, patch.ownerId, 'ticket owner'),
				JSON.stringify(properties),
				closedAt,
			]);
			return toTicket(row!);
		});
	}

	async closeTicket(id: string): Promise<Ticket> {
		const row = await this.one(
			this.db,
			'UPDATE tickets SET stage = $2, closed_at = CASE WHEN closed_at IS NULL THEN $3 ELSE closed_at END WHERE id = $1 RETURNING *',
			[id, CLOSED_STAGE, now()],
		);
		if (!row) throw new StoreInputError(`Unknown ticket: ${id}`);
		return toTicket(row);
	}

	// ---- intake log

	async logIntake(entry: Omit<IntakeLogEntry, 'id' | 'at'> & { at?: string }): Promise<IntakeLogEntry> {
		if (!INTAKE_KINDS.includes(entry.kind)) throw new StoreInputError(`Intake log kind must be one of ${INTAKE_KINDS.join(', ')}, not ${JSON.stringify(entry.kind)}`);
		const inboxId = entry.inboxId ? String((await this.inboxRow(this.db, entry.inboxId)).id) : null;
		const row = await this.one(
			this.db,
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

	async listIntake(filter: { inboxId?: string; kind?: IntakeLogKind; limit?: number } = {}): Promise<IntakeLogEntry[]> {
		const where: string[] = [];
		const params: SqlValue[] = [];
		if (filter.inboxId !== undefined) {
			params.push(String((await this.inboxRow(this.db, filter.inboxId)).id));
			where.push(`inbox_id = $${params.length}`);
		}
		if (filter.kind !== undefined) {
			params.push(filter.kind);
			where.push(`kind = $${params.length}`);
		}
		params.push(Math.max(1, Math.trunc(filter.limit ?? 100)));
		const rows = await this.db.all(`SELECT * FROM intake_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id LIMIT $${params.length}`, params);
		return rows.map(toIntake);
	}

	// ---- SMTP spool

	async spoolPut(input: Parameters<Store['spoolPut']>[0]): Promise<SpoolEntry> {
		if (!Buffer.isBuffer(input.raw)) throw new StoreInputError('Spool entry needs the raw message as a Buffer');
		const receivedAt = input.receivedAt ? checkTimestamp(input.receivedAt, 'receivedAt') : now();
		const row = await this.one(
			this.db,
			'INSERT INTO spool (id, inbox_id, raw, envelope, received_at, decision, attempts, next_attempt_at, last_error, status) VALUES ($1, $2, $3, $4, $5, $6, 0, $5, NULL, $7) RETURNING *',
			[
				randomUUID(),
				input.inboxId,
				input.raw,
				JSON.stringify(input.envelope),
				receivedAt,
				input.decision ? JSON.stringify(input.decision) : null,
				input.quarantined ? 'quarantined' : 'pending',
			],
		);
		return toSpool(row!);
	}

	async spoolGet(id: string): Promise<SpoolEntry | null> {
		const row = await this.one(this.db, 'SELECT * FROM spool WHERE id = $1', [id]);
		return row ? toSpool(row) : null;
	}

	async spoolDue(inboxId: string, at: string = now(), limit = 100): Promise<SpoolEntry[]> {
		const rows = await this.db.all(
			"SELECT * FROM spool WHERE inbox_id = $1 AND status = 'pending' AND next_attempt_at <= $2 ORDER BY received_at, id LIMIT $3",
			[inboxId, checkTimestamp(at, 'now'), Math.max(1, Math.trunc(limit))],
		);
		return rows.map(toSpool);
	}

	async spoolComplete(id: string): Promise<void> {
		const changed = await this.db.run("UPDATE spool SET status = 'done', last_error = NULL WHERE id = $1", [id]);
		if (changed === 0) throw new StoreInputError(`Unknown spool entry: ${id}`);
	}

	async spoolFail(id: string, error: string, input: { nextAttemptAt: string; maxAttempts: number }): Promise<SpoolEntry> {
		const row = await this.one(
			this.db,
			"UPDATE spool SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'pending' END WHERE id = $1 AND status = 'pending' RETURNING *",
			[id, String(error), checkTimestamp(input.nextAttemptAt, 'nextAttemptAt'), Math.max(1, Math.trunc(input.maxAttempts))],
		);
		if (!row) throw new StoreInputError(`Unknown or finished spool entry: ${id}`);
		return toSpool(row);
	}

	async spoolList(filter: { inboxId?: string; status?: SpoolEntry['status'] } = {}): Promise<SpoolEntry[]> {
		const where: string[] = [];
		const params: SqlValue[] = [];
		if (filter.inboxId !== undefined) {
			params.push(filter.inboxId);
			where.push(`inbox_id = $${params.length}`);
		}
		if (filter.status !== undefined) {
			params.push(filter.status);
			where.push(`status = $${params.length}`);
		}
		const rows = await this.db.all(`SELECT * FROM spool${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at, id`, params);
		return rows.map(toSpool);
	}

	async spoolHeads(filter: { inboxId?: string; statuses?: Array<SpoolEntry['status']>; limit?: number } = {}): Promise<SpoolHead[]> {
		const statuses = filter.statuses ?? SPOOL_STATUSES.filter((status) => status !== 'done');
		const unknown = statuses.filter((status) => !SPOOL_STATUSES.includes(status));
		if (unknown.length || statuses.length === 0) throw new StoreInputError(`Spool status must be one of ${SPOOL_STATUSES.join(', ')}, not ${JSON.stringify(unknown[0] ?? null)}`);
		const params: SqlValue[] = [SPOOL_HEAD_BYTES, ...statuses];
		let where = `status IN (${placeholders(2, statuses.length)})`;
		if (filter.inboxId !== undefined) {
			params.push(filter.inboxId);
			where += ` AND inbox_id = $${params.length}`;
		}
		params.push(Math.max(1, Math.trunc(filter.limit ?? 1000)));
		// substr works on BLOB (SQLite) and bytea (PostgreSQL) alike.
		const rows = await this.db.all(
			`SELECT id, inbox_id, SUBSTR(raw, 1, $1) AS raw, envelope, received_at, decision, attempts, next_attempt_at, last_error, status, released_by, released_at
			FROM spool WHERE ${where} ORDER BY received_at DESC, id LIMIT $${params.length}`,
			params,
		);
		return rows.map((row) => {
			const { raw, ...entry } = toSpool(row);
			return { ...entry, head: raw };
		});
	}

	async spoolRedrive(id: string, at: string = now(), recheck = false): Promise<SpoolEntry> {
		// A re-check forgets the decision: the next emission runs the checks again and keeps what they decide.
		const row = await this.one(
			this.db,
			"UPDATE spool SET status = 'pending', attempts = 0, next_attempt_at = $2, decision = CASE WHEN $3 = 1 THEN NULL ELSE decision END WHERE id = $1 AND status = 'failed' RETURNING *",
			[id, checkTimestamp(at, 'at'), recheck ? 1 : 0],
		);
		if (!row) throw new StoreInputError(`No failed spool entry with id ${id} (unknown, or not failed: pending, done or quarantined)`);
		return toSpool(row);
	}

	async spoolKeepDecision(id: string, decision: IntakeDecision): Promise<void> {
		await this.db.run('UPDATE spool SET decision = $2 WHERE id = $1 AND decision IS NULL', [id, JSON.stringify(decision)]);
	}

	async listQuarantined(filter: { inboxId?: string; limit?: number } = {}): Promise<SpoolHead[]> {
		return await this.spoolHeads({ ...filter, statuses: ['quarantined'] });
	}

	async releaseQuarantined(id: string, by: string, at: string = now()): Promise<SpoolEntry> {
		const releasedAt = checkTimestamp(at, 'at');
		const row = await this.one(
			this.db,
			"UPDATE spool SET status = 'pending', next_attempt_at = $3, released_by = $2, released_at = $3 WHERE id = $1 AND status = 'quarantined' RETURNING *",
			[id, checkText(by, 'released by'), releasedAt],
		);
		if (!row) throw new StoreInputError(`No quarantined message with id ${id} (unknown, already released or deleted)`);
		return toSpool(row);
	}

	async deleteQuarantined(id: string): Promise<void> {
		const changed = await this.db.run("DELETE FROM spool WHERE id = $1 AND status = 'quarantined'", [id]);
		if (changed === 0) throw new StoreInputError(`No quarantined message with id ${id} (unknown, already released or deleted)`);
	}

	// ---- retention and erasure

	async purgeExpired(inboxId: string | null, cutoffs: PurgeCutoffs): Promise<PurgeCounts> {
		const before = (at: string | null, what: string) => (at === null ? null : checkTimestamp(at, what));
		const delivered = before(cutoffs.deliveredBefore, 'deliveredBefore');
		const quarantined = before(cutoffs.quarantinedBefore, 'quarantinedBefore');
		const intakeLog = before(cutoffs.intakeLogBefore, 'intakeLogBefore');
		return this.db.transaction(async (q) => {
			const expire = async (sql: string, at: string | null, params: SqlValue[]) => (at === null ? 0 : await q.run(sql, [...params, at]));
			if (inboxId === null) {
				return { delivered: 0, quarantined: 0, intakeLog: await expire('DELETE FROM intake_log WHERE inbox_id IS NULL AND at < $1', intakeLog, []) };
			}
			const id = String((await this.inboxRow(q, inboxId)).id);
			return {
				// Pending and failed entries are owed to the workflow: only these two statuses ever expire.
				delivered: await expire("DELETE FROM spool WHERE inbox_id = $1 AND status = 'done' AND received_at < $2", delivered, [id]),
				quarantined: await expire("DELETE FROM spool WHERE inbox_id = $1 AND status = 'quarantined' AND received_at < $2", quarantined, [id]),
				intakeLog: await expire('DELETE FROM intake_log WHERE inbox_id = $1 AND at < $2', intakeLog, [id]),
			};
		});
	}

	/** Rows of the table whose text columns name the address (LIKE finds candidates, mentions() decides). */
	private async rowsNaming(q: SqlExecutor, table: string, columns: string[], key: string): Promise<Row[]> {
		const where = columns.map((column) => `LOWER(${column}) LIKE $1 ESCAPE '\\'`).join(' OR ');
		const rows = await q.all(`SELECT id, ${columns.join(', ')} FROM ${table} WHERE ${where}`, [likeAny(key)]);
		return rows.filter((row) => columns.some((column) => mentions(text(row[column]), key)));
	}

	private async deleteIds(q: SqlExecutor, table: string, ids: string[]): Promise<number> {
		let deleted = 0;
		for (let start = 0; start < ids.length; start += 500) {
			const chunk = ids.slice(start, start + 500);
			deleted += await q.run(`DELETE FROM ${table} WHERE id IN (${placeholders(1, chunk.length)})`, chunk);
		}
		return deleted;
	}

	async eraseContact(email: string): Promise<ErasureCounts & { filesClean: boolean }> {
		const { key } = checkEmail(email, 'contact');
		const counts = await this.db.transaction(async (q): Promise<ErasureCounts> => {
			const theirConversations = 'SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE ct.email_key = $1';
			const tickets = await q.run(`DELETE FROM tickets WHERE conversation_id IN (${theirConversations})`, [key]);
			const assignments = await q.run(`DELETE FROM assignment_log WHERE conversation_id IN (${theirConversations})`, [key]);
			// Their conversations' messages, and what they wrote in other conversations (as a participant).
			const messages = await q.run(`DELETE FROM messages WHERE conversation_id IN (${theirConversations}) OR sender_key = $1`, [key]);
			const conversations = await q.run('DELETE FROM conversations WHERE contact_id IN (SELECT id FROM contacts WHERE email_key = $1)', [key]);
			const contacts = await q.run('DELETE FROM contacts WHERE email_key = $1', [key]);

			// Refused and held mail is about its sender: an entry naming them anywhere goes whole.
			const intakeLog = await this.deleteIds(
				q,
				'intake_log',
				(await this.rowsNaming(q, 'intake_log', ['helo', 'mail_from', 'rcpt', 'message_id', 'from_address', 'subject', 'details'], key)).map((row) => String(row.id)),
			);
			// Spool entries, whatever their status (erasure outranks a delivery still owed): envelope, decision, raw bytes.
			const spooled = new Set((await this.rowsNaming(q, 'spool', ['envelope', 'decision', 'last_error', 'released_by'], key)).map((row) => String(row.id)));
			for (const row of await q.all('SELECT id FROM spool')) {
				const id = String(row.id);
				if (spooled.has(id)) continue;
				// One raw message at a time (up to the size limit each), never the whole spool in memory.
				const [entry] = await q.all('SELECT raw FROM spool WHERE id = $1', [id]);
				if (entry && rawMentions(bytes(entry.raw), key)) spooled.add(id);
			}
			const spool = await this.deleteIds(q, 'spool', [...spooled]);

			// Other people's records that name the address (a Cc, a quoted reply, a ticket property) keep their rest.
			let redacted = 0;
			for (const [table, columns] of REDACTED_COLUMNS) {
				for (const row of await this.rowsNaming(q, table, columns, key)) {
					const named = columns.filter((column) => mentions(text(row[column]), key));
					const sets = named.map((column, i) => `${column} = $${i + 2}`).join(', ');
					redacted += await q.run(`UPDATE ${table} SET ${sets} WHERE id = $1`, [String(row.id), ...named.map((column) => redact(String(row[column]), key))]);
				}
			}
			return { contacts, conversations, messages, tickets, assignments, intakeLog, spool, redacted };
		});
		return { ...counts, filesClean: await this.db.truncateLog() };
	}

	// ---- IMAP checkpoints

	async getMailboxCheckpoint(mailboxKey: string): Promise<MailboxCheckpoint | null> {
		// One statement, one snapshot: a fold committed between reading the mark and the UIDs would hide done UIDs.
		const rows = await this.db.all(
			`SELECT c.uid_validity, c.done_through, d.uid FROM mailbox_checkpoints c
			LEFT JOIN mailbox_done_uids d ON d.mailbox_key = c.mailbox_key WHERE c.mailbox_key = $1 ORDER BY d.uid`,
			[mailboxKey],
		);
		if (!rows.length) return null;
		const uidValidity = String(rows[0].uid_validity);
		const attempts = await this.db.all('SELECT uid, attempts FROM mailbox_attempts WHERE mailbox_key = $1 AND uid_validity = $2 ORDER BY uid', [mailboxKey, uidValidity]);
		return {
			mailboxKey,
			uidValidity,
			doneThrough: Number(rows[0].done_through),
			doneUids: rows.filter((row) => row.uid !== null).map((row) => Number(row.uid)),
			attempts: attempts.map((row) => ({ uid: Number(row.uid), attempts: Number(row.attempts) })),
		};
	}

	async markUidsDone(mailboxKey: string, uidValidity: string, uids: number[], doneThrough = 0): Promise<void> {
		const key = checkText(mailboxKey, 'Mailbox key');
		const validity = checkText(String(uidValidity), 'UIDVALIDITY');
		const done = checkUids(uids);
		if (!Number.isInteger(doneThrough) || doneThrough < 0) throw new StoreInputError(`The done-through UID must be a whole number >= 0, got ${doneThrough}`);
		await this.db.transaction(async (q) => {
			await q.run('INSERT INTO mailbox_checkpoints (mailbox_key, uid_validity) VALUES ($1, $2) ON CONFLICT (mailbox_key) DO NOTHING', [key, validity]);
			const current = await this.one(q, `SELECT uid_validity, done_through FROM mailbox_checkpoints WHERE mailbox_key = $1${this.db.forUpdate}`, [key]);
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
	}

	// ---- trigger heartbeats and inbox health

	async beatTrigger(inboxId: string, beat: { via: TriggerHeartbeat['via']; event: 'started' | 'running' | 'stopped'; intervalMs: number; at?: string }): Promise<TriggerHeartbeat> {
		const id = String((await this.inboxRow(this.db, inboxId)).id);
		const at = beat.at ? checkTimestamp(beat.at, 'at') : now();
		const stopped = beat.event === 'stopped';
		// started_at moves only at an activation; a later beat or the stop keeps it.
		const row = await this.one(
			this.db,
			`INSERT INTO trigger_heartbeats (inbox_id, via, state, interval_ms, started_at, beat_at, stopped_at) VALUES ($1, $2, $3, $4, $5, $5, $6)
			ON CONFLICT (inbox_id) DO UPDATE SET via = excluded.via, state = excluded.state, interval_ms = excluded.interval_ms,
				started_at = CASE WHEN $7 = 1 THEN excluded.started_at ELSE trigger_heartbeats.started_at END,
				beat_at = excluded.beat_at, stopped_at = excluded.stopped_at
			RETURNING *`,
			[id, beat.via, stopped ? 'stopped' : 'running', Math.max(1, Math.trunc(beat.intervalMs)), at, stopped ? at : null, beat.event === 'started' ? 1 : 0],
		);
		return toHeartbeat(row!);
	}

	async noteTriggerError(inboxId: string, message: string, at: string = now()): Promise<void> {
		await this.db.run('UPDATE trigger_heartbeats SET last_error = $2, last_error_at = $3 WHERE inbox_id = $1', [inboxId, String(message), checkTimestamp(at, 'at')]);
	}

	async inboxHealthFacts(inboxId: string): Promise<InboxHealthFacts> {
		const id = String((await this.inboxRow(this.db, inboxId)).id);
		const heartbeat = await this.one(this.db, 'SELECT * FROM trigger_heartbeats WHERE inbox_id = $1', [id]);
		const latest = await this.one(
			this.db,
			`SELECT MAX(at) AS at FROM (
				SELECT MAX(received_at) AS at FROM spool WHERE inbox_id = $1
				UNION ALL SELECT MAX(at) AS at FROM intake_log WHERE inbox_id = $1
				UNION ALL SELECT MAX(received_at) AS at FROM messages WHERE inbox_id = $1 AND direction = 'in'
			) latest`,
			[id],
		);
		const counts = await this.db.all(
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

	async setMailboxAttempts(mailboxKey: string, uidValidity: string, uid: number, attempts: number): Promise<void> {
		const [checked] = checkUids([uid]);
		if (!Number.isInteger(attempts) || attempts < 1) throw new StoreInputError(`Attempts must be a whole number >= 1, got ${attempts}`);
		// Only under the checkpoint's own UIDVALIDITY: a count for the old numbering would name another message.
		await this.db.run(
			`INSERT INTO mailbox_attempts (mailbox_key, uid_validity, uid, attempts)
			SELECT mailbox_key, uid_validity, $3, $4 FROM mailbox_checkpoints WHERE mailbox_key = $1 AND uid_validity = $2
			ON CONFLICT (mailbox_key, uid_validity, uid) DO UPDATE SET attempts = excluded.attempts`,
			[String(mailboxKey), String(uidValidity), checked, attempts],
		);
	}

	async clearMailboxAttempts(mailboxKey: string, uidValidity: string, uids: number[]): Promise<void> {
		const checked = checkUids(uids);
		for (let start = 0; start < checked.length; start += 500) {
			const chunk = checked.slice(start, start + 500);
			await this.db.run(`DELETE FROM mailbox_attempts WHERE mailbox_key = $1 AND uid_validity = $2 AND uid IN (${chunk.map((_, i) => `$${i + 3}`).join(', ')})`, [
				String(mailboxKey),
				String(uidValidity),
				...chunk,
			]);
		}
	}

	// ---- forwarding verification

	async createForwardingCheck(input: { inboxId: string; publicAddress: string; token: string; deadline: string }): Promise<ForwardingCheck> {
		const inbox = await this.inboxRow(this.db, input.inboxId);
		const token = checkText(input.token, 'Forwarding check token');
		const row = await this.one(
			this.db,
			"INSERT INTO forwarding_checks (id, inbox_id, public_address, token, status, created_at, deadline, verified_at, evidence) VALUES ($1, $2, $3, $4, 'waiting', $5, $6, NULL, NULL) ON CONFLICT (token) DO NOTHING RETURNING *",
			[randomUUID(), String(inbox.id), checkEmail(input.publicAddress, 'public forwarding').email, token, now(), checkTimestamp(input.deadline, 'deadline')],
		);
		if (!row) throw new StoreInputError('This forwarding check token was already used');
		return toForwardingCheck(row);
	}

	async completeForwardingCheck(token: string, evidence: Record<string, unknown>, at: string = now()): Promise<ForwardingCheck | null> {
		const when = checkTimestamp(at, 'at');
		const row = await this.one(
			this.db,
			"UPDATE forwarding_checks SET status = 'verified', verified_at = $2, evidence = $3 WHERE token = $1 AND status = 'waiting' AND deadline > $2 RETURNING *",
			[String(token), when, JSON.stringify(evidence ?? {})],
		);
		return row ? toForwardingCheck(row, when) : null;
	}

	async latestForwardingChecks(inboxId?: string): Promise<ForwardingCheck[]> {
		const rows = inboxId
			? await this.db.all('SELECT * FROM forwarding_checks WHERE inbox_id = $1 ORDER BY created_at DESC, id', [String((await this.inboxRow(this.db, inboxId)).id)])
			: await this.db.all('SELECT * FROM forwarding_checks ORDER BY created_at DESC, id');
		const latest = new Map<string, Row>();
		for (const row of rows) if (!latest.has(String(row.inbox_id))) latest.set(String(row.inbox_id), row);
		const at = now();
		return [...latest.values()].map((row) => toForwardingCheck(row, at));
	}

	async failForwardingCheck(id: string, evidence: Record<string, unknown>): Promise<ForwardingCheck | null> {
		const row = await this.one(
			this.db,
			"UPDATE forwarding_checks SET status = 'failed', evidence = $2 WHERE id = $1 AND status = 'waiting' RETURNING *",
			[String(id), JSON.stringify(evidence ?? {})],
		);
		return row ? toForwardingCheck(row) : null;
	}

	// ---- sending domains

	async upsertSendingDomain(input: { domain: string; selector: string; publicKey: string }): Promise<SendingDomain> {
		const domain = checkEmail(`postmaster@${String(input.domain).trim()}`, 'sending domain').key.slice('postmaster@'.length);
		// A new key or selector must be verified again: the DNS record checked before was for the old one.
		const row = await this.one(
			this.db,
			`INSERT INTO sending_domains (domain, selector, public_key, verified, verified_at, last_check) VALUES ($1, $2, $3, 0, NULL, NULL)
			ON CONFLICT (domain) DO UPDATE SET selector = excluded.selector, public_key = excluded.public_key,
				verified = CASE WHEN sending_domains.selector = excluded.selector AND sending_domains.public_key = excluded.public_key THEN sending_domains.verified ELSE 0 END,
				verified_at = CASE WHEN sending_domains.selector = excluded.selector AND sending_domains.public_key = excluded.public_key THEN sending_domains.verified_at ELSE NULL END
			RETURNING *`,
			[domain, checkText(input.selector, 'DKIM selector'), checkText(input.publicKey, 'DKIM public key')],
		);
		return toSendingDomain(row!);
	}

	async getSendingDomain(domain: string): Promise<SendingDomain | null> {
		const row = await this.one(this.db, 'SELECT * FROM sending_domains WHERE domain = $1', [String(domain).trim().toLowerCase()]);
		return row ? toSendingDomain(row) : null;
	}

	async setSendingDomainVerified(domain: string, verified: boolean, lastCheck: Record<string, unknown>): Promise<SendingDomain> {
		const row = await this.one(
			this.db,
			'UPDATE sending_domains SET verified = $2, verified_at = CASE WHEN $2 = 1 THEN $3 ELSE NULL END, last_check = $4 WHERE domain = $1 RETURNING *',
			[String(domain).trim().toLowerCase(), verified ? 1 : 0, now(), JSON.stringify(lastCheck ?? {})],
		);
		if (!row) throw new StoreInputError(`Unknown sending domain: ${domain}`);
		return toSendingDomain(row);
	}
}
