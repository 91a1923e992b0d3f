/**
 * The conversations store: one interface, two engines (embedded node:sqlite, PostgreSQL).
 * Every operation that concurrent callers can race on is atomic in SQL.
 * Ids are strings (UUIDs) so both engines and n8n items carry them the same way.
 */
import type { IntakeDecision } from '../intake/types';

export type Availability = 'available' | 'away';

export interface WorkingHours {
	/** IANA time zone, e.g. "Europe/Madrid". */
	timeZone: string;
	/** Per weekday (0 = Sunday ... 6 = Saturday), "HH:MM" local start and end; a missing day is off. */
	days: Partial<Record<'0' | '1' | '2' | '3' | '4' | '5' | '6', { start: string; end: string }>>;
}

/** How long an inbox keeps what it holds, in days; 0 keeps it for ever. */
export interface InboxRetention {
	/** Spool entries delivered to the workflow ('done'), raw message included, counted from receipt. */
	deliveredRawDays: number;
	/** Held (quarantined) messages nobody released or deleted, counted from receipt. */
	quarantineDays: number;
	/** Intake log entries (refusals, quarantines, deferrals, confirmations). */
	intakeLogDays: number;
}

export interface Inbox {
	id: string;
	address: string;
	fromName: string | null;
	fromAddress: string | null;
	/** Set by the inbox's trigger; null = the defaults. */
	retention: InboxRetention | null;
	createdAt: string;
}

/** Entries older than each cutoff are deleted; a null cutoff keeps that kind for ever. */
export interface PurgeCutoffs {
	deliveredBefore: string | null;
	quarantinedBefore: string | null;
	intakeLogBefore: string | null;
}

export interface PurgeCounts {
	delivered: number;
	quarantined: number;
	intakeLog: number;
}

/** What an erasure removed (rows deleted) and rewrote (other people's rows that named the address, now without it). */
export interface ErasureCounts {
	contacts: number;
	conversations: number;
	messages: number;
	tickets: number;
	assignments: number;
	intakeLog: number;
	spool: number;
	/** Rows of other people's conversations, messages, tickets and assignment log whose text named the address. */
	redacted: number;
}

export interface Agent {
	id: string;
	email: string;
	firstName: string;
	fullName: string;
	availability: Availability;
	workingHours: WorkingHours | null;
	/** Max open conversations; null = unlimited. */
	capacity: number | null;
	active: boolean;
	createdAt: string;
	updatedAt: string;
}

export interface Team {
	id: string;
	name: string;
	memberIds: string[];
}

export interface Contact {
	id: string;
	inboxId: string;
	email: string;
	name: string | null;
	ownerId: string | null;
	createdAt: string;
	updatedAt: string;
}

export type ConversationStatus = 'open' | 'closed';

export interface Conversation {
	id: string;
	inboxId: string;
	contactId: string;
	status: ConversationStatus;
	assigneeId: string | null;
	teamId: string | null;
	subject: string;
	createdAt: string;
	lastMessageAt: string;
}

export interface StoredMessage {
	id: string;
	conversationId: string;
	direction: 'in' | 'out';
	messageId: string;
	inReplyTo: string[];
	references: string[];
	from: string;
	to: string[];
	cc: string[];
	subject: string;
	text: string;
	html: string | null;
	size: number;
	receivedAt: string;
	authSummary: string | null;
	originalSenderMethod: string | null;
	/** Outbound only: the agent who sent it. */
	senderAgentId: string | null;
	/** Set when In-Reply-To/References named a conversation this sender may not join: why it opened a new one instead. */
	threadRefused: string | null;
}

export interface Ticket {
	id: string;
	conversationId: string;
	name: string;
	pipeline: string;
	stage: string;
	priority: string | null;
	ownerId: string | null;
	properties: Record<string, unknown>;
	createdAt: string;
	closedAt: string | null;
}

export interface AssignmentLogEntry {
	id: string;
	conversationId: string;
	assigneeId: string | null;
	teamId: string | null;
	rule: string;
	reason: string;
	at: string;
}

export type IntakeLogKind = 'rejected' | 'quarantined' | 'deferred' | 'forwarding-confirmation' | 'forwarding-test';

export interface IntakeLogEntry {
	id: string;
	inboxId: string | null;
	kind: IntakeLogKind;
	at: string;
	clientIp: string | null;
	helo: string | null;
	mailFrom: string | null;
	rcpt: string[];
	messageId: string | null;
	from: string | null;
	subject: string | null;
	/** verdict + reasons for rejections; provider/code/link/requester for confirmations. Never a rejected body. */
	details: Record<string, unknown>;
}

export interface RecordMessageInput {
	inboxId: string;
	contactId: string;
	direction: 'in' | 'out';
	/** Without one the store derives a stable id from the content (so replays are still recognised). */
	messageId: string | null;
	/**
	 * SHA-256 of the raw body (the intake's thread.contentHash); without one the store hashes the recorded fields.
	 * Message-ID, From and content hash together make a copy a replay; a different message reusing the Message-ID is recorded.
	 */
	contentHash?: string | null;
	inReplyTo: string[];
	references: string[];
	from: string;
	to: string[];
	cc: string[];
	subject: string;
	text: string;
	html: string | null;
	size: number;
	receivedAt: string;
	authSummary: string | null;
	originalSenderMethod: string | null;
	senderAgentId?: string | null;
	/** Outbound replies name their conversation explicitly. */
	conversationId?: string;
	/** The subject of a conversation this message opens (default `subject`): a forward's is the forwarded message's. */
	conversationSubject?: string;
	/**
	 * Inbound: who the message is from as far as the intake could establish it (the authenticated original sender,
	 * else the From header; default `from`). In-Reply-To/References lead into a conversation only when this is its
	 * contact, a participant in it or an agent; otherwise the message opens a new conversation, with threadRefused.
	 */
	sender?: string | null;
	/** Inbound: the intake authenticated `sender`. Only an authenticated agent joins a conversation as an agent (anyone can write an agent's From). */
	senderAuthenticated?: boolean;
}

export interface RecordMessageResult {
	/** duplicate: this message (Message-ID, From and content) was already recorded for this inbox (a replay); nothing was written. */
	outcome: 'new-conversation' | 'existing-conversation' | 'duplicate';
	conversation: Conversation;
	message: StoredMessage;
	/** true when a reply reopened a closed conversation. */
	reopened: boolean;
}

export interface TicketInput {
	name: string;
	pipeline?: string;
	stage?: string;
	priority?: string | null;
	ownerId?: string | null;
	properties?: Record<string, unknown>;
}

export interface SpoolEntry {
	id: string;
	inboxId: string;
	raw: Buffer;
	envelope: { clientIp: string | null; helo: string | null; mailFrom: string | null; rcpt: string[] };
	receivedAt: string;
	/** The intake's decision as it was answered (verdict, kind, original sender, thread keys): re-emissions reuse it. */
	decision: IntakeDecision | null;
	attempts: number;
	/** When it may be emitted again (backoff after a failed execution). */
	nextAttemptAt: string;
	lastError: string | null;
	/** `quarantined`: held for review, emitted only once released (then `pending`). */
	status: 'pending' | 'done' | 'failed' | 'quarantined';
	/** Who released it from quarantine, and when. */
	released: { by: string; at: string } | null;
}

/** A spool entry listed with only the start of its message (`head`), never whole 30 MB bodies. */
export type SpoolHead = Omit<SpoolEntry, 'raw'> & { head: Buffer };

/**
 * What a Hosted Inbox Trigger last wrote about itself: a heartbeat while it listens (SMTP) or polls (IMAP), a
 * clean stop at deactivation, and its last error. Any process reads it through the store.
 */
export interface TriggerHeartbeat {
	inboxId: string;
	via: 'smtp' | 'imap';
	/** `running` until a clean stop; a running heartbeat that went stale means the trigger died (a crash). */
	state: 'running' | 'stopped';
	/** How often it beats while running: a heartbeat older than two intervals is stale. */
	intervalMs: number;
	startedAt: string;
	beatAt: string;
	stoppedAt: string | null;
	lastError: { message: string; at: string } | null;
}

/** The store's facts about one inbox, for its health. */
export interface InboxHealthFacts {
	heartbeat: TriggerHeartbeat | null;
	/** Latest of the spool, the intake log and the inbound messages recorded for the inbox. */
	lastReceivedAt: string | null;
	/** Pending spool entries (waiting for a successful execution). */
	backlog: { count: number; oldestReceivedAt: string | null };
	failed: number;
	quarantined: number;
}

export interface MailboxCheckpoint {
	mailboxKey: string;
	uidValidity: string;
	/** Every UID at or below this is done (0: none yet). */
	doneThrough: number;
	/** The done UIDs above doneThrough, ascending. */
	doneUids: number[];
	/** Failed processing attempts of messages not yet done nor flagged as given up, under this uidValidity. */
	attempts: Array<{ uid: number; attempts: number }>;
}

export type ForwardingCheckStatus = 'waiting' | 'verified' | 'failed';

export interface ForwardingCheck {
	id: string;
	inboxId: string;
	publicAddress: string;
	/** Unguessable; a verified or expired token never verifies again. */
	token: string;
	status: ForwardingCheckStatus;
	createdAt: string;
	deadline: string;
	verifiedAt: string | null;
	/** Received chain, forwarding evidence, ARC sealers, authentication result of the test message. */
	evidence: Record<string, unknown> | null;
}

export interface SendingDomain {
	domain: string;
	selector: string;
	/** Public key only (base64 SPKI); the private key lives in an n8n credential. */
	publicKey: string;
	verified: boolean;
	verifiedAt: string | null;
	lastCheck: Record<string, unknown> | null;
}

/** Raised for bad input (unknown id, invalid email, missing conversation): nothing was changed. */
export class StoreInputError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'StoreInputError';
	}
}

/** Raised when the store cannot be reached (PostgreSQL down, file unreadable). */
export class StoreUnavailableError extends Error {
	constructor(message: string, readonly cause?: unknown) {
		super(message);
		this.name = 'StoreUnavailableError';
	}
}

export interface Store {
	readonly engine: 'sqlite' | 'postgres';
	/** Human description for errors and the CLI, e.g. the file path or host:port/db. */
	readonly location: string;
	close(): Promise<void>;

	// Inboxes
	/** Create or update the inbox by address; a fromName held by another inbox is a StoreInputError naming it. */
	registerInbox(input: { address: string; fromName?: string | null; fromAddress?: string | null; retention?: InboxRetention | null }): Promise<Inbox>;
	getInbox(address: string): Promise<Inbox | null>;
	listInboxes(): Promise<Inbox[]>;
	addInboxAgent(inboxId: string, agentId: string): Promise<void>;
	removeInboxAgent(inboxId: string, agentId: string): Promise<void>;
	listInboxAgents(inboxId: string): Promise<Agent[]>;

	// Agents (idOrEmail accepts either)
	createAgent(input: Pick<Agent, 'email' | 'firstName' | 'fullName'> & Partial<Pick<Agent, 'availability' | 'workingHours' | 'capacity'>>): Promise<Agent>;
	updateAgent(idOrEmail: string, patch: Partial<Pick<Agent, 'firstName' | 'fullName' | 'availability' | 'workingHours' | 'capacity' | 'active'>>): Promise<Agent>;
	getAgent(idOrEmail: string): Promise<Agent | null>;
	listAgents(filter?: { active?: boolean; availability?: Availability }): Promise<Agent[]>;

	// Teams
	createTeam(name: string): Promise<Team>;
	getTeam(idOrName: string): Promise<Team | null>;
	addTeamMember(teamIdOrName: string, agentIdOrEmail: string): Promise<Team>;
	removeTeamMember(teamIdOrName: string, agentIdOrEmail: string): Promise<Team>;
	listTeams(): Promise<Team[]>;

	// Contacts (email unique per inbox, case-insensitive)
	findOrCreateContact(inboxId: string, input: { email: string; name?: string | null }): Promise<{ contact: Contact; created: boolean }>;
	getContact(id: string): Promise<Contact | null>;
	findContactByEmail(inboxId: string, email: string): Promise<Contact | null>;
	createContact(inboxId: string, input: { email: string; name?: string | null; ownerId?: string | null }): Promise<Contact>;
	updateContact(id: string, patch: { name?: string | null; ownerId?: string | null }): Promise<Contact>;
	listContacts(inboxId?: string): Promise<Contact[]>;
	/** Bulk load (a CRM export, the benchmark's 100,000 contacts) in one transaction; existing addresses are left as they are. */
	importContacts(inboxId: string, contacts: Array<{ email: string; name?: string | null; ownerId?: string | null }>): Promise<{ created: number; existing: number }>;

	// Conversations and messages
	/**
	 * Records the message and threads it (In-Reply-To / References, incl. our own outbound ids, followed only for the
	 * conversation's contact, participants and agents); a message seen before (Message-ID, From, content) is a duplicate.
	 */
	recordMessage(input: RecordMessageInput): Promise<RecordMessageResult>;
	/** The first message recorded under this Message-ID in the inbox. */
	findMessage(inboxId: string, messageId: string): Promise<StoredMessage | null>;
	/** The recorded message this one would replay (same Message-ID, From and content), or null: what recordMessage would answer with. */
	findReplay(input: Omit<RecordMessageInput, 'contactId'>): Promise<StoredMessage | null>;
	listMessages(conversationId: string): Promise<StoredMessage[]>;
	getConversation(id: string): Promise<Conversation | null>;
	listConversations(filter?: { inboxId?: string; status?: ConversationStatus; assigneeId?: string }): Promise<Conversation[]>;
	closeConversation(id: string): Promise<Conversation>;
	reopenConversation(id: string): Promise<Conversation>;
	/** Sets the assignee/team and writes the assignment log in one transaction. */
	assignConversation(id: string, input: { assigneeId: string | null; teamId: string | null; rule: string; reason: string }): Promise<Conversation>;
	/** Assigns only if the conversation has no assignee yet (atomic); returns the conversation as it stands. */
	assignConversationIfUnassigned(id: string, input: { assigneeId: string; teamId: string | null; rule: string; reason: string }): Promise<{ conversation: Conversation; assigned: boolean }>;
	listAssignmentLog(conversationId: string): Promise<AssignmentLogEntry[]>;
	countOpenConversations(agentIds: string[]): Promise<Record<string, number>>;
	/** Round robin among candidates, keyed by pool (e.g. inbox+rule): an atomic counter, never a skewed or double pick. */
	pickNextAgent(poolKey: string, candidateIds: string[]): Promise<string | null>;

	// Tickets (one per conversation at most)
	createTicketOnce(conversationId: string, input: TicketInput): Promise<{ ticket: Ticket; created: boolean }>;
	getTicket(id: string): Promise<Ticket | null>;
	getTicketForConversation(conversationId: string): Promise<Ticket | null>;
	listTickets(filter?: { stage?: string; open?: boolean }): Promise<Ticket[]>;
	updateTicket(id: string, patch: Partial<TicketInput>): Promise<Ticket>;
	closeTicket(id: string): Promise<Ticket>;

	// Intake log
	logIntake(entry: Omit<IntakeLogEntry, 'id' | 'at'> & { at?: string }): Promise<IntakeLogEntry>;
	listIntake(filter?: { inboxId?: string; kind?: IntakeLogKind; limit?: number }): Promise<IntakeLogEntry[]>;

	// SMTP spool: a message is durably stored here before the 250, completed after its execution succeeded.
	// Quarantined mail is kept here too, held until someone releases or deletes it.
	spoolPut(input: { inboxId: string; raw: Buffer; envelope: SpoolEntry['envelope']; receivedAt?: string; decision?: IntakeDecision; quarantined?: boolean }): Promise<SpoolEntry>;
	spoolGet(id: string): Promise<SpoolEntry | null>;
	/** Pending entries whose nextAttemptAt has come (for re-emission on activation and with backoff). */
	spoolDue(inboxId: string, now?: string, limit?: number): Promise<SpoolEntry[]>;
	spoolComplete(id: string): Promise<void>;
	/** Counts a failed attempt, sets the backoff; after maxAttempts the entry becomes 'failed' (reported, kept). */
	spoolFail(id: string, error: string, input: { nextAttemptAt: string; maxAttempts: number }): Promise<SpoolEntry>;
	spoolList(filter?: { inboxId?: string; status?: SpoolEntry['status'] }): Promise<SpoolEntry[]>;
	/** Entries in these statuses (default: all but done), newest first, with only the start of each message. */
	spoolHeads(filter?: { inboxId?: string; statuses?: Array<SpoolEntry['status']>; limit?: number }): Promise<SpoolHead[]>;
	/** A failed entry becomes pending again, due now, its attempts counted from zero (its last error is kept until it succeeds). */
	spoolRedrive(id: string, at?: string, recheck?: boolean): Promise<SpoolEntry>;
	/** Keeps the decision a re-check made (an entry re-driven with `recheck`, or spooled before decisions were kept). */
	spoolKeepDecision(id: string, decision: IntakeDecision): Promise<void>;
	/** Quarantined entries, newest first, with only the start of each message (`head`), never whole 30 MB bodies. */
	listQuarantined(filter?: { inboxId?: string; limit?: number }): Promise<SpoolHead[]>;
	/** A quarantined entry becomes pending, due now, noting who released it (atomic: released once). */
	releaseQuarantined(id: string, by: string, at?: string): Promise<SpoolEntry>;
	deleteQuarantined(id: string): Promise<void>;

	// Retention and erasure
	/**
	 * Deletes the inbox's delivered ('done') and quarantined spool entries and intake log entries older than the
	 * cutoffs, in one transaction; pending and failed entries are owed to the workflow and never touched.
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

	// IMAP checkpoints: UIDVALIDITY + the set of UIDs done (a low-water mark and the done UIDs above it, not a
	// high-water mark), and the failed attempts per message.
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

	// Trigger heartbeats and inbox health
	/** `started` (activation) and `running` (every interval) keep the trigger running; `stopped` is its clean deactivation. */
	beatTrigger(inboxId: string, beat: { via: TriggerHeartbeat['via']; event: 'started' | 'running' | 'stopped'; intervalMs: number; at?: string }): Promise<TriggerHeartbeat>;
	/** The trigger's latest trouble (local trouble answered 451, an IMAP outage, a message given up), kept with its time. */
	noteTriggerError(inboxId: string, message: string, at?: string): Promise<void>;
	inboxHealthFacts(inboxId: string): Promise<InboxHealthFacts>;

	// Forwarding verification
	createForwardingCheck(input: { inboxId: string; publicAddress: string; token: string; deadline: string }): Promise<ForwardingCheck>;
	/** Verifies the waiting, unexpired check with this token (atomic); null when the token is unknown, used or expired. */
	completeForwardingCheck(token: string, evidence: Record<string, unknown>, at?: string): Promise<ForwardingCheck | null>;
	/** Latest check per inbox; a waiting check past its deadline reads as failed. */
	latestForwardingChecks(inboxId?: string): Promise<ForwardingCheck[]>;
	/** Fails a waiting check at once (its test message could not be sent), keeping why in its evidence; null when not waiting. */
	failForwardingCheck(id: string, evidence: Record<string, unknown>): Promise<ForwardingCheck | null>;

	// Sending domains (for custom from-addresses)
	upsertSendingDomain(input: { domain: string; selector: string; publicKey: string }): Promise<SendingDomain>;
	getSendingDomain(domain: string): Promise<SendingDomain | null>;
	setSendingDomainVerified(domain: string, verified: boolean, lastCheck: Record<string, unknown>): Promise<SendingDomain>;
}
