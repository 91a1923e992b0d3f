/**
 * The store's records and errors; its operations, by role, are in roles.ts.
 * Ids are strings (UUIDs) so both engines and n8n items carry them the same way.
 */
import type { IntakeDoor } from '../inbox';
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
	/** The HTTP door's replay claims that expired by then (the purge's time). */
	replaysExpiredBy: string;
}

export interface PurgeCounts {
	delivered: number;
	quarantined: number;
	intakeLog: number;
	replays: number;
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

/** An entry to log: its id is made by the store, its time is now unless given. */
export type IntakeLogInput = Omit<IntakeLogEntry, 'id' | 'at'> & { at?: string };

/** What makes a copy a replay: Message-ID, From and content hash (without a hash, the recorded fields hashed). */
export type ReplayIdentity = Pick<RecordMessageInput, 'inboxId' | 'messageId' | 'from'> & Partial<Pick<RecordMessageInput, 'contentHash' | 'to' | 'cc' | 'subject' | 'text' | 'html'>>;

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
	 * else the From header; default `from`; '' for nobody: an unproven claim through a list or a forward).
	 * In-Reply-To/References lead into a conversation only when this is its contact, a participant in it or an
	 * authenticated agent; otherwise the message opens a new conversation, with threadRefused.
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
	/** The message's length in bytes; its bytes are read through SpoolStore.spoolMessage, as a stream. */
	size: number;
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

/** How much of a spooled message a list shows (`head`): enough for its From and Subject. */
export const SPOOL_HEAD_BYTES = 64 * 1024;

/** A spool entry listed with only the start of its message (`head`), never whole 30 MB bodies. */
export type SpoolHead = SpoolEntry & { head: Buffer };

/**
 * What a Hosted Inbox Trigger last wrote about itself: a heartbeat while it listens (SMTP) or polls (IMAP), a
 * clean stop at deactivation, and its last error. Any process reads it through the store.
 */
export interface TriggerHeartbeat {
	inboxId: string;
	via: IntakeDoor;
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

/** Raised when the store cannot be reached (PostgreSQL down, file unreadable). */
export class StoreUnavailableError extends Error {
	constructor(message: string, readonly cause?: unknown) {
		super(message);
		this.name = 'StoreUnavailableError';
	}
}
