/**
 * The store by role: one interface per aggregate, each caller depending only on the roles it uses.
 * `Store` is all of them: one implementation per engine (embedded node:sqlite, PostgreSQL).
 * Every operation that concurrent callers can race on is atomic in SQL.
 */
import type { IntakeDecision } from '../intake/types';
import type { MessageBytes } from '../message-bytes';
import type { Agent, AssignmentLogEntry, Availability, Contact, Conversation, ConversationStatus, ErasureCounts, ForwardingCheck, Inbox, InboxHealthFacts, InboxRetention, IntakeLogEntry, IntakeLogInput, IntakeLogKind, MailboxCheckpoint, PurgeCounts, PurgeCutoffs, RecordMessageInput, RecordMessageResult, ReplayIdentity, SendingDomain, SpoolEntry, SpoolHead, StoredMessage, Team, Ticket, TicketInput, TriggerHeartbeat } from './types';

/** Which store this is, and its end. */
export interface StoreConnection {
	readonly engine: 'sqlite' | 'postgres';
	/** Human description for errors and the CLI, e.g. the file path or host:port/db. */
	readonly location: string;
	close(): Promise<void>;
}

/** Inboxes, and the agents who work each one. */
export interface InboxStore {
	/** Create or update the inbox by address; a fromName held by another inbox is a InvalidInputError naming it. */
	registerInbox(input: { address: string; fromName?: string | null; fromAddress?: string | null; retention?: InboxRetention | null }): Promise<Inbox>;
	getInbox(address: string): Promise<Inbox | null>;
	listInboxes(): Promise<Inbox[]>;
	addInboxAgent(inboxId: string, agentId: string): Promise<void>;
	removeInboxAgent(inboxId: string, agentId: string): Promise<void>;
	listInboxAgents(inboxId: string): Promise<Agent[]>;
	/** What the inbox's health is read from: heartbeats, pending and failed spool entries, the latest refusals. */
	inboxHealthFacts(inboxId: string): Promise<InboxHealthFacts>;
}

/** Agents (idOrEmail accepts either) and teams. */
export interface AgentStore {
	createAgent(input: Pick<Agent, 'email' | 'firstName' | 'fullName'> & Partial<Pick<Agent, 'availability' | 'workingHours' | 'capacity'>>): Promise<Agent>;
	updateAgent(idOrEmail: string, patch: Partial<Pick<Agent, 'firstName' | 'fullName' | 'availability' | 'workingHours' | 'capacity' | 'active'>>): Promise<Agent>;
	getAgent(idOrEmail: string): Promise<Agent | null>;
	listAgents(filter?: { active?: boolean; availability?: Availability }): Promise<Agent[]>;
	createTeam(name: string): Promise<Team>;
	getTeam(idOrName: string): Promise<Team | null>;
	addTeamMember(teamIdOrName: string, agentIdOrEmail: string): Promise<Team>;
	removeTeamMember(teamIdOrName: string, agentIdOrEmail: string): Promise<Team>;
	listTeams(): Promise<Team[]>;
}

/** Contacts (email unique per inbox, case-insensitive). */
export interface ContactStore {
	findOrCreateContact(inboxId: string, input: { email: string; name?: string | null }): Promise<{ contact: Contact; created: boolean }>;
	getContact(id: string): Promise<Contact | null>;
	findContactByEmail(inboxId: string, email: string): Promise<Contact | null>;
	createContact(inboxId: string, input: { email: string; name?: string | null; ownerId?: string | null }): Promise<Contact>;
	updateContact(id: string, patch: { name?: string | null; ownerId?: string | null }): Promise<Contact>;
	listContacts(inboxId?: string): Promise<Contact[]>;
	/** Bulk load (a CRM export, the benchmark's 100,000 contacts) in one transaction; existing addresses are left as they are. */
	importContacts(inboxId: string, contacts: Array<{ email: string; name?: string | null; ownerId?: string | null }>): Promise<{ created: number; existing: number }>;
}

/** Conversations, their messages and their assignment. */
export interface ConversationStore {
	/**
	 * Records the message and threads it (In-Reply-To / References, incl. our own outbound ids, followed only for the
	 * conversation's contact, participants and agents); a message seen before (Message-ID, From, content) is a duplicate.
	 */
	recordMessage(input: RecordMessageInput): Promise<RecordMessageResult>;
	/** The first message recorded under this Message-ID in the inbox. */
	findMessage(inboxId: string, messageId: string): Promise<StoredMessage | null>;
	/** The recorded message this one would replay (same Message-ID, From and content), or null: what recordMessage would answer with. */
	findReplay(input: ReplayIdentity): Promise<StoredMessage | null>;
	listMessages(conversationId: string): Promise<StoredMessage[]>;
	getConversation(id: string): Promise<Conversation | null>;
	listConversations(filter?: { inboxId?: string; status?: ConversationStatus; assigneeId?: string }): Promise<Conversation[]>;
	closeConversation(id: string): Promise<Conversation>;
	reopenConversation(id: string): Promise<Conversation>;
	/** Sets the assignee/team and writes the assignment log in one transaction. */
	assignConversation(id: string, input: { assigneeId: string | null; teamId: string | null; rule: string; reason: string }): Promise<Conversation>;
	/**
	 * Assigns only if the conversation has no assignee yet (or still `replacing`, a stale one being routed afresh) and,
	 * given a capacity, while the assignee has fewer other open conversations than that (both atomic: of concurrent
	 * routers, none overfills an agent); returns the conversation as it stands, and `full` when the capacity refused it.
	 */
	assignConversationIfUnassigned(
		id: string,
		input: { assigneeId: string; teamId: string | null; rule: string; reason: string; capacity?: number | null; replacing?: string | null },
	): Promise<{ conversation: Conversation; assigned: boolean; full: boolean }>;
	listAssignmentLog(conversationId: string): Promise<AssignmentLogEntry[]>;
	countOpenConversations(agentIds: string[]): Promise<Record<string, number>>;
	/** Round robin among candidates, keyed by pool (e.g. inbox+rule): an atomic counter, never a skewed or double pick. */
	pickNextAgent(poolKey: string, candidateIds: string[]): Promise<string | null>;
}

/** Tickets (one per conversation at most). */
export interface TicketStore {
	createTicketOnce(conversationId: string, input: TicketInput): Promise<{ ticket: Ticket; created: boolean }>;
	getTicket(id: string): Promise<Ticket | null>;
	getTicketForConversation(conversationId: string): Promise<Ticket | null>;
	listTickets(filter?: { stage?: string; open?: boolean }): Promise<Ticket[]>;
	updateTicket(id: string, patch: Partial<TicketInput>): Promise<Ticket>;
	closeTicket(id: string): Promise<Ticket>;
}

/** What the intake refused, held or noted, with its reasons. */
export interface IntakeLogStore {
	logIntake(entry: IntakeLogInput): Promise<IntakeLogEntry>;
	listIntake(filter?: { inboxId?: string; kind?: IntakeLogKind; limit?: number }): Promise<IntakeLogEntry[]>;
}

/**
 * The spool: a message is durably stored here before the 250, completed after its execution succeeded.
 */
export interface SpoolStore {
	/**
	 * A message kept before its door answers. `dueAt` (default: now) is when a sweep may emit it: later for a message
	 * whose own run is already under way elsewhere (the HTTP door's webhook run), so the sweep only re-drives it if
	 * that run never records it.
	 * The message is read as a stream and kept in chunks, with the entry in one transaction: never whole in memory.
	 */
	spoolPut(input: {
		inboxId: string;
		message: MessageBytes;
		envelope: SpoolEntry['envelope'];
		receivedAt?: string;
		/** When the inbox took the message in, which retention counts from; now when absent. */
		spooledAt?: string;
		dueAt?: string;
		decision?: IntakeDecision;
		quarantined?: boolean;
		/** The decision's intake log entry, kept in the same transaction (its details name the entry as `spoolId`): both or neither. */
		log?: IntakeLogInput;
	}): Promise<SpoolEntry>;
	spoolGet(id: string): Promise<SpoolEntry | null>;
	/** The entry's message, streamed from the store a chunk at a time on each open(); null when there is no such entry. */
	spoolMessage(id: string): Promise<MessageBytes | null>;
	/** Pending entries whose nextAttemptAt has come (for re-emission on activation and with backoff). */
	spoolDue(inboxId: string, now?: string, limit?: number): Promise<SpoolEntry[]>;
	/**
	 * The entry was delivered: its execution succeeded, or Resolve Original Sender recorded its message. Idempotent;
	 * an unknown or quarantined entry is an InvalidInputError.
	 */
	spoolComplete(id: string): Promise<void>;
	/**
	 * Counts a failed attempt, sets the backoff; after maxAttempts the entry becomes 'failed' (reported, kept). An entry
	 * already done (its message was recorded before a later step failed) is returned as it is: nothing to retry.
	 */
	spoolFail(id: string, error: string, input: { nextAttemptAt: string; maxAttempts: number }): Promise<SpoolEntry>;
	spoolList(filter?: { inboxId?: string; status?: SpoolEntry['status'] }): Promise<SpoolEntry[]>;
	/** Entries in these statuses (default: all but done), newest first, with only the start of each message. */
	spoolHeads(filter?: { inboxId?: string; statuses?: Array<SpoolEntry['status']>; limit?: number }): Promise<SpoolHead[]>;
	/** A failed entry becomes pending again, due now, its attempts counted from zero (its last error is kept until it succeeds). */
	spoolRedrive(id: string, at?: string, recheck?: boolean): Promise<SpoolEntry>;
	/** Keeps the decision a re-check made (an entry re-driven with `recheck`, or spooled before decisions were kept). */
	spoolKeepDecision(id: string, decision: IntakeDecision): Promise<void>;
	/**
	 * A pending entry a re-check decided to hold: quarantined with that decision and its intake log entry (naming the
	 * entry as `spoolId`), in one transaction, its quarantine retention counted from now. An entry no longer pending is
	 * left as it is.
	 */
	spoolHold(id: string, decision: IntakeDecision, log: IntakeLogInput): Promise<void>;
}

/** Quarantined mail, kept in the spool, held until someone releases or deletes it. */
export interface QuarantineStore {
	/** Quarantined entries, newest first, with only the start of each message (`head`), never whole 30 MB bodies. */
	listQuarantined(filter?: { inboxId?: string; limit?: number }): Promise<SpoolHead[]>;
	/** A quarantined entry becomes pending, due now, noting who released it (atomic: released once). */
	releaseQuarantined(id: string, by: string, at?: string): Promise<SpoolEntry>;
	deleteQuarantined(id: string): Promise<void>;
}

/** Retention and erasure. */
export interface RetentionStore {
	/**
	 * Deletes the inbox's delivered ('done') and quarantined spool entries and intake log entries older than the
	 * cutoffs, and its expired HTTP replay claims, in one transaction; pending and failed entries are owed to the
	 * workflow and never touched.
	 * inboxId null: only the intake log entries that belong to no inbox.
	 */
	purgeExpired(inboxId: string | null, cutoffs: PurgeCutoffs): Promise<PurgeCounts>;
	/**
	 * Erases a person (every inbox), in one transaction: their contacts, those contacts' conversations with their
	 * messages, tickets and assignment log, the messages they sent elsewhere, every intake log and spool entry
	 * (raw bytes included) naming the address; other rows naming it have it replaced by `[erased]`. The embedded
	 * store then truncates its WAL, so no copy is left in its files (connections run with secure_delete).
	 */
	eraseContact(email: string): Promise<ErasureCounts & { filesClean: boolean }>;
}

/**
 * IMAP checkpoints: UIDVALIDITY + the set of UIDs done (a low-water mark and the done UIDs above it, not a
 * high-water mark), and the failed attempts per message.
 */
export interface MailboxCheckpointStore {
	getMailboxCheckpoint(mailboxKey: string): Promise<MailboxCheckpoint | null>;
	/**
	 * Adds UIDs to the done set (and forgets their attempts); `doneThrough` says every UID at or below it is done too.
	 * The run of done UIDs right above the mark is folded into it. A different uidValidity replaces the set (resync).
	 */
	markUidsDone(mailboxKey: string, uidValidity: string, uids: number[], doneThrough?: number): Promise<void>;
	/** Records how many times processing this message failed (the checkpoint must exist). */
	setMailboxAttempts(mailboxKey: string, uidValidity: string, uid: number, attempts: number): Promise<void>;
	/** Forgets the attempts of these messages (given up and flagged: a retry asked for later starts again at 1). */
	clearMailboxAttempts(mailboxKey: string, uidValidity: string, uids: number[]): Promise<void>;
}

/** Trigger heartbeats: whether the trigger is running, and its latest trouble. */
export interface HeartbeatStore {
	/** `started` (activation) and `running` (every interval) keep the trigger running; `stopped` is its clean deactivation. */
	beatTrigger(inboxId: string, beat: { via: TriggerHeartbeat['via']; event: 'started' | 'running' | 'stopped'; intervalMs: number; at?: string }): Promise<TriggerHeartbeat>;
	/** The trigger's latest trouble (local trouble answered 451, an IMAP outage, a message given up), kept with its time. */
	noteTriggerError(inboxId: string, message: string, at?: string): Promise<void>;
}

/** Forwarding verification. */
export interface ForwardingCheckStore {
	createForwardingCheck(input: { inboxId: string; publicAddress: string; token: string; deadline: string }): Promise<ForwardingCheck>;
	/** Verifies the waiting, unexpired check with this token (atomic); null when the token is unknown, used or expired. */
	completeForwardingCheck(token: string, evidence: Record<string, unknown>, at?: string): Promise<ForwardingCheck | null>;
	/** Latest check per inbox; a waiting check past its deadline reads as failed. */
	latestForwardingChecks(inboxId?: string): Promise<ForwardingCheck[]>;
	/** Fails a waiting check at once (its test message could not be sent), keeping why in its evidence; null when not waiting. */
	failForwardingCheck(id: string, evidence: Record<string, unknown>): Promise<ForwardingCheck | null>;
}

/** The HTTP door's replay cache: a signed request (its token, nonce or signature) is taken once while it is fresh. */
export interface ReplayStore {
	/**
	 * Takes the token for the inbox until expiresAt (atomic): true when it was free (never seen, or its row expired
	 * as of `at`, default now), false when a live claim holds it (a replay).
	 */
	claimReplayToken(inboxId: string, token: string, expiresAt: string, at?: string): Promise<boolean>;
	/** Frees a claimed token (the request was answered "try again": the provider's retry of it must pass). */
	releaseReplayToken(inboxId: string, token: string): Promise<void>;
}

/** Sending domains (for custom from-addresses). */
export interface SendingDomainStore {
	upsertSendingDomain(input: { domain: string; selector: string; publicKey: string }): Promise<SendingDomain>;
	getSendingDomain(domain: string): Promise<SendingDomain | null>;
	setSendingDomainVerified(domain: string, verified: boolean, lastCheck: Record<string, unknown>): Promise<SendingDomain>;
}

export interface Store
	extends StoreConnection,
		InboxStore,
		AgentStore,
		ContactStore,
		ConversationStore,
		TicketStore,
		IntakeLogStore,
		SpoolStore,
		QuarantineStore,
		RetentionStore,
		MailboxCheckpointStore,
		HeartbeatStore,
		ForwardingCheckStore,
		ReplayStore,
		SendingDomainStore {}
