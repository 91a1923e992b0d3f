/**
 * The IMAP door of the intake: takes mail from one mailbox and hands it over for processing, losing
 * nothing and never stopping silently. Framework-free (no n8n): the trigger node supplies `process`.
 *
 * - IDLE when the server has it (restarted every maxIdleTime, since idle links die silently), else polling.
 * - imapflow does not reconnect: every lost connection gets a new client, with exponential backoff and
 *   jitter, forever; each outage is reported once through `onEvent`.
 * - The durable checkpoint is UIDVALIDITY + the set of UIDs done (store), not a high-water mark: a low-water mark
 *   under which every UID is done, and the done UIDs above it.
 * - The size is checked before downloading; larger messages are flagged and reported, never downloaded.
 * - The after-processing action runs only once the processing of that message succeeded; a failure
 *   leaves the message untouched and it is retried with backoff, then flagged and reported. The attempts are
 *   kept in the store: a restart does not give a failing message a fresh set of them.
 */
import { ImapFlow, type FetchMessageObject, type ImapFlowOptions, type SearchObject } from 'imapflow';

import { retryDelayMs, type RetryPolicy } from '../intake-delivery/retry';
import type { MailboxCheckpointStore } from '../store/roles';

/** Keyword set on a message whose processing kept failing (remove it to have the message tried again). */
export const FAILED_KEYWORD = '$HostedInboxFailed';
/** Keyword set on a message over the inbox's size limit (never downloaded). */
export const TOO_LARGE_KEYWORD = '$HostedInboxTooLarge';

export interface MailboxConnection {
	host: string;
	port: number;
	/** TLS from the start (993); otherwise STARTTLS when the server offers it. */
	secure: boolean;
	user: string;
	password: string;
	allowUnauthorizedCerts?: boolean;
}

export type AfterProcessing = { action: 'mark-read' } | { action: 'move'; folder: string } | { action: 'delete' };

/** Which messages already in the mailbox the first start takes in: none (default), the unread ones, or all since a day. */
export type InitialSync = { mode: 'new' } | { mode: 'unread' } | { mode: 'since'; since: Date };

/** One message handed over for processing. */
export interface MailboxMessage {
	mailbox: string;
	uidValidity: string;
	uid: number;
	raw: Buffer;
	size: number;
	messageId: string | null;
	internalDate: string | null;
	/** 1 on the first try, 2 on the first retry ... */
	attempt: number;
}

export type PollerEvent =
	| { type: 'connected'; mailbox: string; uidValidity: string; idle: boolean }
	| { type: 'outage'; error: Error; since: Date }
	| { type: 'reconnected'; downForMs: number }
	| { type: 'resync'; previousUidValidity: string; uidValidity: string }
	| { type: 'too-large'; uid: number; size: number; limit: number; messageId: string | null; subject: string | null; from: string | null }
	| { type: 'retry'; uid: number; messageId: string | null; attempt: number; error: Error; retryInMs: number }
	| { type: 'given-up'; uid: number; messageId: string | null; attempts: number; error: Error }
	| { type: 'action-failed'; uids: number[]; error: Error };

export interface MailboxPollerOptions {
	connection: MailboxConnection;
	/** Default INBOX. */
	mailbox?: string;
	/** Names the checkpoint; default user@host:port/mailbox. */
	mailboxKey?: string;
	store: MailboxCheckpointStore;
	maxMessageBytes: number;
	initialSync?: InitialSync;
	afterProcessing?: AfterProcessing;
	/** Runs the workflow for these messages; resolves once it succeeded for all of them, rejects otherwise. */
	process(messages: MailboxMessage[]): Promise<void>;
	/** After a UIDVALIDITY change: whether this Message-ID was already taken in (the store's de-duplication). */
	alreadyTakenIn?(messageId: string): Promise<boolean>;
	onEvent?(event: PollerEvent): void;
	/** Messages per processing call (several per execution; each is still acknowledged only after success). */
	batchSize?: number;
	/** Processing calls running at once. 1 keeps the mailbox order. */
	maxInFlight?: number;
	retry?: RetryPolicy;
	reconnect?: { baseDelayMs: number; maxDelayMs: number };
	/** How often IDLE is broken and restarted. */
	maxIdleTimeMs?: number;
	/** Poll interval when the server has no IDLE. */
	pollIntervalMs?: number;
	/** A full look at the mailbox this often even with IDLE (a lost notification never strands a message). */
	sweepIntervalMs?: number;
	/** Messages above this are downloaded as a stream one by one; smaller ones in one FETCH per batch. */
	streamAboveBytes?: number;
	/** On stop, how long to wait for running processing so that its acknowledgement is not lost. */
	stopGraceMs?: number;
	/** Socket and greeting timeouts of the IMAP client. */
	timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
}

const DEFAULTS = {
	mailbox: 'INBOX',
	batchSize: 50,
	maxInFlight: 1,
	retry: { maxAttempts: 5, baseDelayMs: 5_000, maxDelayMs: 10 * 60_000 } satisfies RetryPolicy,
	reconnect: { baseDelayMs: 1_000, maxDelayMs: 60_000 },
	maxIdleTimeMs: 5 * 60_000,
	pollIntervalMs: 30_000,
	sweepIntervalMs: 5 * 60_000,
	streamAboveBytes: 1024 * 1024,
	stopGraceMs: 10_000,
};

/** A configuration problem a person must fix (wrong password, missing mailbox): fails the first start. */
export class MailboxConfigError extends Error {
	constructor(
		message: string,
		readonly cause?: unknown,
	) {
		super(message);
		this.name = 'MailboxConfigError';
	}
}

class ConnectionLost extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConnectionLost';
	}
}

interface Session {
	client: ImapFlow;
	uidValidity: string;
	idle: boolean;
	closed: boolean;
	closeError: Error | null;
	/** UIDs below this were all settled at the last look; new mail always gets higher UIDs. */
	low: number;
	lastFullSweep: number;
	/** UIDs present when a UIDVALIDITY change was found: checked against the store's Message-IDs first. */
	resyncUids: Set<number>;
}

interface RetryState {
	attempts: number;
	dueAt: number;
}

/** An imapflow client for these settings (n8n's IMAP credential fields), quiet, its errors handled. */
export function createImapClient(connection: MailboxConnection, extra: Partial<ImapFlowOptions> = {}): ImapFlow {
	const client = new ImapFlow({
		host: connection.host,
		port: connection.port,
		secure: connection.secure,
		auth: { user: connection.user, pass: connection.password },
		tls: { rejectUnauthorized: !connection.allowUnauthorizedCerts },
		logger: false,
		...extra,
	});
	// Without a listener an 'error' event would crash the process; the 'close' that follows tells the owner.
	client.on('error', () => undefined);
	return client;
}

/**
 * The newest message of the mailbox, read-only (nothing flagged, no checkpoint): what a manual test run shows.
 * Null when the mailbox is empty; a message over the limit is not downloaded (its size is reported instead).
 */
export async function peekLatestMessage(
	connection: MailboxConnection,
	mailbox: string,
	maxMessageBytes: number,
): Promise<MailboxMessage | { tooLarge: number } | null> {
	const client = createImapClient(connection, { disableAutoIdle: true });
	try {
		await client.connect();
		const opened = await client.mailboxOpen(mailbox, { readOnly: true });
		if (!opened.exists) return null;
		const meta = await client.fetchOne('*', { uid: true, size: true, envelope: true, internalDate: true });
		if (!meta) return null;
		if ((meta.size ?? 0) > maxMessageBytes) return { tooLarge: meta.size ?? 0 };
		const { content } = await client.download(String(meta.uid), undefined, { uid: true, maxBytes: maxMessageBytes + 1 });
		if (!content) return null;
		const raw = await collect(content);
		return {
			mailbox,
			uidValidity: String(opened.uidValidity),
			uid: meta.uid,
			raw,
			size: raw.length,
			messageId: meta.envelope?.messageId ?? null,
			internalDate: meta.internalDate ? new Date(meta.internalDate).toISOString() : null,
			attempt: 1,
		};
	} finally {
		await client.logout().catch(() => client.close());
	}
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of stream) {
		size += chunk.length;
		chunks.push(chunk);
	}
	return Buffer.concat(chunks, size);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorOf(value: unknown): Error {
	return value instanceof Error ? value : new Error(String(value));
}

function isAuthFailure(error: unknown): boolean {
	const e = error as { authenticationFailed?: boolean; serverResponseCode?: string };
	return e?.authenticationFailed === true || e?.serverResponseCode === 'AUTHENTICATIONFAILED';
}

/** How many remembered Message-IDs of successful processing to keep (to bridge a UIDVALIDITY change). */
const TAKEN_IN_MEMORY = 10_000;

export class MailboxPoller {
	readonly mailbox: string;
	readonly mailboxKey: string;
	private readonly o: MailboxPollerOptions & typeof DEFAULTS;
	private stopped = false;
	private loop: Promise<void> | null = null;
	private session: Session | null = null;
	/** The done set of the current UIDVALIDITY (mirrors the store): every UID at or below `through`, and `uids`. */
	private done: { uidValidity: string; through: number; uids: Set<number> } | null = null;
	/** `${uidValidity}:${uid}` -> Message-ID of messages being processed. Kept across reconnects. */
	private readonly inFlight = new Map<string, string | null>();
	private readonly retries = new Map<string, RetryState>();
	/** Succeeded but not yet recorded in the store (it was unreachable); never processed twice meanwhile. */
	private readonly pendingDone = new Map<string, Set<number>>();
	/** After-processing actions owed because the connection was lost before they were applied. */
	private readonly owedActions = new Map<string, Set<number>>();
	/** Keywords to set once the connection allows (given-up, too large). */
	private readonly pendingFlags = new Map<string, { uid: number; keyword: string }>();
	private readonly reportedTooLarge = new Set<string>();
	private readonly takenIn = new Set<string>();
	private readonly deliveries = new Set<Promise<void>>();
	private batchesRunning = 0;
	private slotWaiters: Array<() => void> = [];
	private wakePending = false;
	private wakeUp: (() => void) | null = null;
	private stopWaiter: (() => void) | null = null;

	constructor(options: MailboxPollerOptions) {
		this.o = { ...DEFAULTS, ...options } as MailboxPollerOptions & typeof DEFAULTS;
		this.mailbox = this.o.mailbox;
		const c = options.connection;
		this.mailboxKey = options.mailboxKey ?? `${c.user}@${c.host.toLowerCase()}:${c.port}/${this.mailbox}`;
	}

	/**
	 * Starts taking mail in. Resolves once the mailbox is open and synced, or once the first attempt
	 * failed for a passing reason (the poller keeps reconnecting and has reported the outage).
	 * Rejects with MailboxConfigError when the first attempt shows a setting is wrong.
	 */
	async start(): Promise<void> {
		if (this.loop) throw new Error('The mailbox poller is already running');
		let settle!: (error?: Error) => void;
		const firstAttempt = new Promise<void>((resolve, reject) => {
			settle = (error) => (error ? reject(error) : resolve());
		});
		this.loop = this.runForever(settle);
		await firstAttempt;
	}

	/** Stops: waits (bounded) for running processing to finish and be acknowledged, then logs out. */
	async stop(): Promise<void> {
		this.stopped = true;
		this.wake();
		this.stopWaiter?.();
		for (const release of this.slotWaiters.splice(0)) release();
		await this.loop;
	}

	/** Looks at the mailbox now (e.g. a manual trigger). */
	wake(): void {
		this.wakePending = true;
		this.wakeUp?.();
	}

	private emit(event: PollerEvent): void {
		try {
			this.o.onEvent?.(event);
		} catch {
			// A failing listener must not stop the intake.
		}
	}

	private async runForever(settleFirst: (error?: Error) => void): Promise<void> {
		let first = true;
		let failures = 0;
		let outageSince: Date | null = null;
		while (!this.stopped) {
			const client = this.newClient();
			let ready = false;
			try {
				await this.runSession(client, () => {
					ready = true;
					failures = 0;
					if (outageSince) this.emit({ type: 'reconnected', downForMs: Date.now() - outageSince.getTime() });
					outageSince = null;
					if (first) settleFirst();
					first = false;
				});
			} catch (caught) {
				const error = errorOf(caught);
				if (first && !ready && error instanceof MailboxConfigError) {
					this.stopped = true;
					settleFirst(error);
					break;
				}
				if (this.stopped) break;
				failures++;
				if (!outageSince) {
					outageSince = new Date();
					this.emit({ type: 'outage', error, since: outageSince });
				}
				if (first) settleFirst();
				first = false;
				const policy = { ...this.o.reconnect, maxAttempts: Infinity };
				await this.pause(retryDelayMs(failures, policy));
			} finally {
				this.session = null;
				client.removeAllListeners('exists');
				client.close();
			}
		}
		if (first) settleFirst();
	}

	private newClient(): ImapFlow {
		return createImapClient(this.o.connection, {
			maxIdleTime: this.o.maxIdleTimeMs,
			// Back to IDLE quickly after our own commands: mail arriving in between is then seen at once.
			autoIdleDelay: 250,
			...(this.o.timeouts?.connectionMs ? { connectionTimeout: this.o.timeouts.connectionMs } : {}),
			...(this.o.timeouts?.greetingMs ? { greetingTimeout: this.o.timeouts.greetingMs } : {}),
			...(this.o.timeouts?.socketMs ? { socketTimeout: this.o.timeouts.socketMs } : {}),
		});
	}

	private async runSession(client: ImapFlow, onReady: () => void): Promise<void> {
		const session: Session = {
			client,
			uidValidity: '',
			idle: false,
			closed: false,
			closeError: null,
			low: 1,
			lastFullSweep: 0,
			resyncUids: new Set(),
		};
		client.on('close', () => {
			session.closed = true;
			for (const release of this.slotWaiters.splice(0)) release();
			this.wake();
		});
		client.on('error', (error: Error) => (session.closeError = error));
		client.on('exists', () => this.wake());

		const loginFailure = await client.connect().then(
			() => null,
			(error: unknown) => error,
		);
		if (loginFailure) {
			throw isAuthFailure(loginFailure)
				? new MailboxConfigError(`IMAP login failed for ${this.o.connection.user}: ${errorOf(loginFailure).message}`, loginFailure)
				: loginFailure;
		}
		const opened = await client.mailboxOpen(this.mailbox).catch((error: { serverResponseCode?: string; mailboxMissing?: boolean }) => {
			if (!error.mailboxMissing && error.serverResponseCode !== 'NONEXISTENT') return Promise.reject(error);
			return Promise.reject(new MailboxConfigError(`The mailbox "${this.mailbox}" does not exist on ${this.o.connection.host}`, error));
		});
		session.uidValidity = String(opened.uidValidity);
		session.idle = client.capabilities.has('IDLE');
		// Without IDLE, imapflow's fallback polls (NOOP) at maxIdleTime: make that the poll interval.
		if (!session.idle) client.maxIdleTime = this.o.pollIntervalMs;
		if (this.o.afterProcessing?.action === 'move') await this.ensureFolder(client, this.o.afterProcessing.folder);
		await this.loadCheckpoint(session, opened.uidNext);
		this.session = session;
		onReady();
		this.emit({ type: 'connected', mailbox: this.mailbox, uidValidity: session.uidValidity, idle: session.idle });

		while (!this.stopped) {
			this.assertAlive(session);
			this.wakePending = false;
			// A command cut off by the lost link says "Connection not available": name the outage instead.
			await this.drain(session).catch((error: unknown) => Promise.reject(session.closed ? this.lostError(session) : error));
			await this.waitForWake(this.nextLookInMs(session));
		}
		await this.settleDeliveries();
		if (!session.closed) await client.logout().catch(() => undefined);
	}

	private assertAlive(session: Session): void {
		if (session.closed) throw this.lostError(session);
	}

	private lostError(session: Session): ConnectionLost {
		const reason = session.closeError ? `: ${session.closeError.message}` : '';
		return new ConnectionLost(`The IMAP connection to ${this.o.connection.host}:${this.o.connection.port} was lost${reason}`);
	}

	private async ensureFolder(client: ImapFlow, folder: string): Promise<void> {
		const list = await client.list();
		if (list.some((entry) => entry.path === folder)) return;
		await client.mailboxCreate(folder);
	}

	/** Loads the checkpoint; on the first start or a UIDVALIDITY change decides which messages are out of scope. */
	private async loadCheckpoint(session: Session, uidNext: number | undefined): Promise<void> {
		const { client, uidValidity } = session;
		const checkpoint = await this.o.store.getMailboxCheckpoint(this.mailboxKey);
		if (checkpoint && checkpoint.uidValidity === uidValidity) {
			this.done = { uidValidity, through: checkpoint.doneThrough, uids: new Set(checkpoint.doneUids) };
			this.resumeAttempts(uidValidity, checkpoint.attempts);
			return;
		}
		let outOfScope: number[];
		// Every UID below UIDNEXT that is out of scope, gaps included (a gap is a message gone for good).
		let outOfScopeThrough = 0;
		if (!checkpoint) {
			const sync = this.o.initialSync ?? { mode: 'new' };
			const query: SearchObject = sync.mode === 'new' ? { all: true } : sync.mode === 'unread' ? { seen: true } : { before: sync.since };
			outOfScope = (await client.search(query, { uid: true })) || [];
			if (sync.mode === 'new' && uidNext) outOfScopeThrough = uidNext - 1;
		} else {
			this.emit({ type: 'resync', previousUidValidity: checkpoint.uidValidity, uidValidity });
			// Marked-read messages were done under the old numbering; moved or deleted ones are gone.
			// Everything else is checked against the store's Message-IDs before it is processed.
			outOfScope = this.o.afterProcessing?.action === 'mark-read' || !this.o.afterProcessing ? (await client.search({ seen: true }, { uid: true })) || [] : [];
			const all = (await client.search({ all: true }, { uid: true })) || [];
			const excluded = new Set(outOfScope);
			session.resyncUids = new Set(all.filter((uid) => !excluded.has(uid)));
			for (const key of [...this.retries.keys()]) if (!key.startsWith(`${uidValidity}:`)) this.retries.delete(key);
		}
		// Written even when empty: the checkpoint's existence is what says "first start is over".
		await this.o.store.markUidsDone(this.mailboxKey, uidValidity, outOfScope, outOfScopeThrough);
		this.done = { uidValidity, through: outOfScopeThrough, uids: new Set() };
		this.addDone(outOfScope);
	}

	/** Attempts counted before a restart: retried at once, one by one, counting on; those used up are flagged. */
	private resumeAttempts(uidValidity: string, stored: Array<{ uid: number; attempts: number }>): void {
		for (const { uid, attempts } of stored) {
			const key = this.key(uidValidity, uid);
			// This process's own count (a reconnect, not a restart) is the same or newer, and knows the backoff.
			if (this.retries.has(key) || this.inFlight.has(key) || this.pendingDone.get(uidValidity)?.has(uid)) continue;
			if (attempts >= this.o.retry.maxAttempts) this.pendingFlags.set(key, { uid, keyword: FAILED_KEYWORD });
			else this.retries.set(key, { attempts, dueAt: 0 });
		}
	}

	private isDone(uid: number): boolean {
		return uid <= this.done!.through || this.done!.uids.has(uid);
	}

	/** Adds to the mirror and folds the run right above the mark into it, as the store does. */
	private addDone(uids: number[]): void {
		const done = this.done!;
		for (const uid of uids) if (uid > done.through) done.uids.add(uid);
		while (done.uids.delete(done.through + 1)) done.through++;
	}

	private nextLookInMs(session: Session): number {
		const now = Date.now();
		let next = session.idle ? this.o.sweepIntervalMs : this.o.pollIntervalMs;
		for (const [key, state] of this.retries) if (key.startsWith(`${session.uidValidity}:`)) next = Math.min(next, state.dueAt - now);
		const owed = [...this.pendingDone.values(), ...this.owedActions.values()].some((set) => set.size > 0);
		if (owed || this.pendingFlags.size) next = Math.min(next, this.o.reconnect.baseDelayMs);
		return Math.max(0, next);
	}

	/** Waits until woken (new mail, finished processing) or the time is up. */
	private async waitForWake(ms: number): Promise<void> {
		if (this.stopped || this.wakePending) return;
		await new Promise<void>((resolve) => {
			const timer = setTimeout(done, ms);
			function done() {
				clearTimeout(timer);
				resolve();
			}
			this.wakeUp = done;
		});
		this.wakeUp = null;
	}

	/** The reconnect backoff: only stop() cuts it short. */
	private async pause(ms: number): Promise<void> {
		if (this.stopped) return;
		await new Promise<void>((resolve) => {
			const timer = setTimeout(done, ms);
			function done() {
				clearTimeout(timer);
				resolve();
			}
			this.stopWaiter = done;
		});
		this.stopWaiter = null;
	}

	private key(uidValidity: string, uid: number): string {
		return `${uidValidity}:${uid}`;
	}

	/** One look at the mailbox: settle what is owed, then hand new messages over. */
	private async drain(session: Session): Promise<void> {
		const { client, uidValidity } = session;
		await this.flushPendingDone();
		await this.flushPendingFlags(session);
		await this.flushOwedActions(session);

		const now = Date.now();
		const fullSweep = now - session.lastFullSweep >= (session.idle ? this.o.sweepIntervalMs : this.o.pollIntervalMs);
		const from = fullSweep ? 1 : session.low;
		if (fullSweep) session.lastFullSweep = now;
		const query: SearchObject = { uid: `${from}:*`, unKeyword: FAILED_KEYWORD, not: { keyword: TOO_LARGE_KEYWORD } };
		// "n:*" always names the last message even below n: filter again.
		const present = ((await client.search(query, { uid: true })) || []).filter((uid) => uid >= from);
		this.assertAlive(session);
		if (client.mailbox && String(client.mailbox.uidValidity) !== uidValidity) throw new ConnectionLost('UIDVALIDITY changed while connected');
		const owedDone = this.pendingDone.get(uidValidity);
		const candidates: number[] = [];
		let lowest = Infinity;
		for (const uid of present) {
			if (this.isDone(uid)) continue;
			lowest = Math.min(lowest, uid);
			const key = this.key(uidValidity, uid);
			// In flight, succeeded but not yet recorded, or given up/too large but not yet flagged: not again.
			if (this.inFlight.has(key) || owedDone?.has(uid) || this.pendingFlags.has(key)) continue;
			const retry = this.retries.get(key);
			if (!retry || retry.dueAt <= now) candidates.push(uid);
		}
		session.low = lowest === Infinity ? Math.max(from, (present[present.length - 1] ?? 0) + 1) : lowest;
		this.dropOverRetries(uidValidity, present);
		if (candidates.length) await this.handOver(session, candidates);
	}

	/**
	 * A retry whose message was expunged or flagged by someone else, or was done meanwhile, is over: its due time would
	 * keep waking the loop. Retried messages are never below the low mark unless gone (the mark is the lowest not done).
	 */
	private dropOverRetries(uidValidity: string, present: number[]): void {
		const prefix = `${uidValidity}:`;
		const here = new Set(present);
		const over: number[] = [];
		for (const key of this.retries.keys()) {
			if (!key.startsWith(prefix) || this.inFlight.has(key)) continue;
			const uid = Number(key.slice(prefix.length));
			if (!here.has(uid) || this.isDone(uid)) over.push(uid);
		}
		if (!over.length) return;
		for (const uid of over) this.retries.delete(this.key(uidValidity, uid));
		void this.o.store.clearMailboxAttempts(this.mailboxKey, uidValidity, over).catch(() => undefined);
	}

	/** Fetches sizes, then the messages, and starts their processing in batches (retries one by one). */
	private async handOver(session: Session, uids: number[]): Promise<void> {
		const retried = uids.filter((uid) => this.retries.has(this.key(session.uidValidity, uid)));
		const fresh = uids.filter((uid) => !this.retries.has(this.key(session.uidValidity, uid)));
		const groups: number[][] = retried.map((uid) => [uid]);
		for (let i = 0; i < fresh.length; i += this.o.batchSize) groups.push(fresh.slice(i, i + this.o.batchSize));
		for (const group of groups) {
			if (!(await this.takeSlot(session))) return;
			let messages: MailboxMessage[] = [];
			let fetched = false;
			try {
				messages = await this.fetchGroup(session, group);
				fetched = true;
			} finally {
				// A failed fetch hands nothing over: its slot is free again.
				if (!fetched) this.releaseSlot();
			}
			if (!messages.length) {
				this.releaseSlot();
				continue;
			}
			const delivery = this.deliver(session.uidValidity, messages);
			this.deliveries.add(delivery);
			void delivery.finally(() => this.deliveries.delete(delivery));
		}
	}

	/** Waits for a free processing slot; false when the session ended or the poller stopped meanwhile. */
	private async takeSlot(session: Session): Promise<boolean> {
		while (this.batchesRunning >= this.o.maxInFlight && !this.stopped && !session.closed) {
			await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
		}
		if (this.stopped) return false;
		this.assertAlive(session);
		this.batchesRunning++;
		return true;
	}

	private releaseSlot(): void {
		this.batchesRunning--;
		this.slotWaiters.shift()?.();
	}

	private async fetchGroup(session: Session, group: number[]): Promise<MailboxMessage[]> {
		const { client, uidValidity } = session;
		const limit = this.o.maxMessageBytes;
		const metas = await client.fetchAll(group, { uid: true, size: true, envelope: true, internalDate: true }, { uid: true });
		const small: FetchMessageObject[] = [];
		const large: FetchMessageObject[] = [];
		const toRecord: number[] = [];
		for (const meta of metas) {
			const messageId = meta.envelope?.messageId ?? null;
			if ((meta.size ?? 0) > limit) {
				this.tooLarge(session, meta, messageId);
				continue;
			}
			if (session.resyncUids.has(meta.uid) && messageId) {
				// Being processed under the old numbering: its outcome decides at a later look.
				if ([...this.inFlight.values()].includes(messageId)) continue;
				session.resyncUids.delete(meta.uid);
				if (this.takenIn.has(messageId) || (await this.o.alreadyTakenIn?.(messageId))) {
					toRecord.push(meta.uid);
					continue;
				}
			}
			session.resyncUids.delete(meta.uid);
			((meta.size ?? 0) > this.o.streamAboveBytes ? large : small).push(meta);
		}
		if (toRecord.length) await this.recordDone(uidValidity, toRecord, session);

		const sources = new Map<number, Buffer>();
		if (small.length) {
			const fetched = await client.fetchAll(
				small.map((m) => m.uid),
				{ uid: true, source: true },
				{ uid: true },
			);
			for (const message of fetched) if (message.source) sources.set(message.uid, message.source);
		}
		for (const meta of large) {
			const raw = await this.download(client, meta.uid, limit);
			if (raw) sources.set(meta.uid, raw);
		}
		const messages: MailboxMessage[] = [];
		for (const meta of [...small, ...large].sort((a, b) => a.uid - b.uid)) {
			const raw = sources.get(meta.uid);
			// Expunged meanwhile: nothing to take in.
			if (!raw) continue;
			const key = this.key(uidValidity, meta.uid);
			const messageId = meta.envelope?.messageId ?? null;
			this.inFlight.set(key, messageId);
			messages.push({
				mailbox: this.mailbox,
				uidValidity,
				uid: meta.uid,
				raw,
				size: raw.length,
				messageId,
				internalDate: meta.internalDate ? new Date(meta.internalDate).toISOString() : null,
				attempt: (this.retries.get(key)?.attempts ?? 0) + 1,
			});
		}
		return messages;
	}

	/** Streams one message in (the size was checked; maxBytes guards a message that grew meanwhile). */
	private async download(client: ImapFlow, uid: number, limit: number): Promise<Buffer | null> {
		const { content } = await client.download(String(uid), undefined, { uid: true, maxBytes: limit + 1 });
		return content ? await collect(content as AsyncIterable<Buffer>) : null;
	}

	private tooLarge(session: Session, meta: FetchMessageObject, messageId: string | null): void {
		const key = this.key(session.uidValidity, meta.uid);
		this.pendingFlags.set(key, { uid: meta.uid, keyword: TOO_LARGE_KEYWORD });
		if (this.reportedTooLarge.has(key)) return;
		this.reportedTooLarge.add(key);
		const from = meta.envelope?.from?.[0]?.address ?? null;
		this.emit({ type: 'too-large', uid: meta.uid, size: meta.size ?? 0, limit: this.o.maxMessageBytes, messageId, subject: meta.envelope?.subject ?? null, from });
	}

	private async deliver(uidValidity: string, messages: MailboxMessage[]): Promise<void> {
		let failure: Error | null = null;
		try {
			await this.o.process(messages);
		} catch (error) {
			failure = errorOf(error);
		} finally {
			this.releaseSlot();
		}
		for (const message of messages) this.inFlight.delete(this.key(uidValidity, message.uid));
		if (!failure) {
			for (const message of messages) {
				this.retries.delete(this.key(uidValidity, message.uid));
				if (message.messageId) this.remember(message.messageId);
			}
			// Processed under an old UIDVALIDITY: the resync finds it again by its Message-ID.
			if (this.done?.uidValidity === uidValidity) {
				await this.recordDone(
					uidValidity,
					messages.map((m) => m.uid),
					this.session,
				);
			}
		} else {
			for (const message of messages) await this.failed(uidValidity, message, failure);
		}
		this.wake();
	}

	private remember(messageId: string): void {
		this.takenIn.add(messageId);
		if (this.takenIn.size > TAKEN_IN_MEMORY) this.takenIn.delete(this.takenIn.values().next().value as string);
	}

	private async failed(uidValidity: string, message: MailboxMessage, error: Error): Promise<void> {
		const key = this.key(uidValidity, message.uid);
		const attempts = message.attempt;
		if (attempts >= this.o.retry.maxAttempts) {
			this.retries.delete(key);
			this.pendingFlags.set(key, { uid: message.uid, keyword: FAILED_KEYWORD });
			this.emit({ type: 'given-up', uid: message.uid, messageId: message.messageId, attempts, error });
		} else {
			const retryInMs = retryDelayMs(attempts, this.o.retry);
			this.retries.set(key, { attempts, dueAt: Date.now() + retryInMs });
			this.emit({ type: 'retry', uid: message.uid, messageId: message.messageId, attempt: attempts, error, retryInMs });
		}
		// Kept until the message is done or flagged: a restart meanwhile counts on from here. An unreachable store
		// loses only this count, and only across a restart: this process keeps counting in memory.
		await this.o.store.setMailboxAttempts(this.mailboxKey, uidValidity, message.uid, attempts).catch(() => undefined);
	}

	/** Store first (the durable record that processing succeeded), then the action on the server. */
	private async recordDone(uidValidity: string, uids: number[], session: Session | null): Promise<void> {
		let owed = this.pendingDone.get(uidValidity);
		if (!owed) this.pendingDone.set(uidValidity, (owed = new Set()));
		for (const uid of uids) owed.add(uid);
		if (!(await this.flushPendingDone())) return;
		if (session && !session.closed && session.uidValidity === uidValidity) await this.applyAction(session, uids);
		else this.oweAction(uidValidity, uids);
	}

	private oweAction(uidValidity: string, uids: number[]): void {
		let owed = this.owedActions.get(uidValidity);
		if (!owed) this.owedActions.set(uidValidity, (owed = new Set()));
		for (const uid of uids) owed.add(uid);
	}

	private async flushOwedActions(session: Session): Promise<void> {
		for (const [uidValidity, owed] of [...this.owedActions]) {
			this.owedActions.delete(uidValidity);
			// Under another UIDVALIDITY those numbers name other messages now.
			if (uidValidity === session.uidValidity && owed.size) await this.applyAction(session, [...owed]);
		}
	}

	/** Writes owed done UIDs to the store; false when it is unreachable (kept, tried again at the next look). */
	private async flushPendingDone(): Promise<boolean> {
		for (const [uidValidity, owed] of [...this.pendingDone]) {
			if (this.done?.uidValidity !== uidValidity) {
				this.pendingDone.delete(uidValidity);
				continue;
			}
			if (!owed.size) continue;
			const uids = [...owed];
			try {
				await this.o.store.markUidsDone(this.mailboxKey, uidValidity, uids);
			} catch {
				return false;
			}
			// The set stays in the map even when empty: a concurrent recordDone may be filling it again.
			this.addDone(uids);
			for (const uid of uids) owed.delete(uid);
		}
		return true;
	}

	private async flushPendingFlags(session: Session): Promise<void> {
		for (const [key, { uid, keyword }] of [...this.pendingFlags]) {
			if (!key.startsWith(`${session.uidValidity}:`)) {
				this.pendingFlags.delete(key);
				continue;
			}
			const flagged = await session.client.messageFlagsAdd([uid], [keyword], { uid: true });
			this.pendingFlags.delete(key);
			// Flagged, it is out of the search: a retry someone asks for by removing the keyword starts again at 1.
			if (flagged && keyword === FAILED_KEYWORD) await this.o.store.clearMailboxAttempts(this.mailboxKey, session.uidValidity, [uid]).catch(() => undefined);
		}
	}

	/** The after-processing action; on a lost connection the next session applies it (the UIDs are done). */
	private async applyAction(session: Session, uids: number[]): Promise<void> {
		const { client } = session;
		const action = this.o.afterProcessing ?? { action: 'mark-read' };
		try {
			// imapflow answers false, without throwing, when a command failed (a connection lost mid-STORE included).
			const applied =
				action.action === 'mark-read'
					? await client.messageFlagsAdd(uids, ['\\Seen'], { uid: true })
					: action.action === 'move'
						? await client.messageMove(uids, action.folder, { uid: true })
						: await client.messageDelete(uids, { uid: true });
			if (!applied) throw new Error(`the server did not apply the after-processing action (${action.action})`);
		} catch (error) {
			if (session.closed || !client.usable) this.oweAction(session.uidValidity, uids);
			else this.emit({ type: 'action-failed', uids, error: errorOf(error) });
		}
	}

	private async settleDeliveries(): Promise<void> {
		if (!this.deliveries.size) return;
		await Promise.race([Promise.allSettled([...this.deliveries]), sleep(this.o.stopGraceMs)]);
	}
}
