/**
 * The IMAP door of the intake: takes mail from one mailbox and hands it over for processing, losing
 * nothing and never stopping silently. Framework-free (no n8n): the trigger node supplies `process`.
 * Composes the connection (sessions, reconnecting), the checkpoint in the store, the UID ledger (what is done,
 * owed, retried, given up), fetching, and one timer.
 *
 * - IDLE when the server has it (restarted every maxIdleTime, since idle links die silently), else polling.
 * - The size is checked before downloading; larger messages are flagged and reported, never downloaded.
 * - The after-processing action runs only once the processing of that message succeeded; a failure
 *   leaves the message untouched and it is retried with backoff, then flagged and reported. The attempts are
 *   kept in the store: a restart does not give a failing message a fresh set of them.
 * - A message whose outcome `process` settled (refused or held: logged, spooled, set aside) is done whatever becomes
 *   of the rest of its batch: a retry of the batch would take it in again.
 */
import { headerSectionLength } from '../intake/headers';
import { bodyHash } from '../store/message-id';
import { withTimeout, type RetryPolicy } from '../workflow-delivery/retry';
import type { MailboxCheckpointStore } from '../store/roles';
import { Alarm } from './alarm';
import { Checkpoint, type InitialSync } from './checkpoint';
import { errorOf, keepConnected, MailboxSession, type MailboxConnection } from './connection';
import { FAILED_KEYWORD, batchesBySize, fetchHeads, fetchSources, mailboxMessage, searchFrom, TOO_LARGE_KEYWORD, type MailboxMessage, type MessageHead } from './fetch';
import { Slots } from './slots';
import { UidLedger, type FlagReason } from './uid-ledger';

export type { InitialSync } from './checkpoint';
export { MailboxConfigError, type MailboxConnection } from './connection';
export { FAILED_KEYWORD, peekLatestMessage, TOO_LARGE_KEYWORD, type MailboxMessage } from './fetch';

export type AfterProcessing = { action: 'mark-read' } | { action: 'move'; folder: string } | { action: 'delete' };

export type PollerEvent =
	| { type: 'connected'; mailbox: string; uidValidity: string; idle: boolean }
	| { type: 'outage'; error: Error; since: Date }
	| { type: 'reconnected'; downForMs: number }
	| { type: 'resync'; previousUidValidity: string; uidValidity: string }
	| { type: 'too-large'; uid: number; size: number; limit: number; messageId: string | null; subject: string | null; from: string | null }
	| { type: 'retry'; uid: number; messageId: string | null; attempt: number; error: Error; retryInMs: number }
	| { type: 'given-up'; uid: number; messageId: string | null; attempts: number; error: Error }
	| { type: 'action-failed'; uids: number[]; error: Error };

/** What makes a copy the same message (the store's replay rule): its Message-ID, its From and the hash of its body. */
export interface MessageCopy {
	messageId: string;
	from: string;
	bodyHash: string;
}

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
	/**
	 * Runs the workflow for these messages; resolves once it succeeded for all of them, rejects otherwise. Calls
	 * `settled` for a message whose outcome stands even if the call then rejects: that one is done, not retried.
	 */
	process(messages: MailboxMessage[], settled: (message: MailboxMessage) => void): Promise<void>;
	/**
	 * After a UIDVALIDITY change: whether this copy was already taken in (the store recorded the same message). A
	 * Message-ID alone never says so: anyone may reuse one.
	 */
	alreadyTakenIn?(copy: MessageCopy): Promise<boolean>;
	onEvent?(event: PollerEvent): void;
	/** Messages per processing call (several per execution; each is still acknowledged only after success). */
	batchSize?: number;
	/** And bytes per call: a batch is held in memory until its run ends (a larger message goes alone). */
	batchBytes?: number;
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
	batchBytes: 8 * 1024 * 1024,
	maxInFlight: 1,
	retry: { maxAttempts: 5, baseDelayMs: 5_000, maxDelayMs: 10 * 60_000 } satisfies RetryPolicy,
	reconnect: { baseDelayMs: 1_000, maxDelayMs: 60_000 },
	maxIdleTimeMs: 5 * 60_000,
	pollIntervalMs: 30_000,
	sweepIntervalMs: 5 * 60_000,
	streamAboveBytes: 1024 * 1024,
	stopGraceMs: 10_000,
};

const KEYWORD: Record<FlagReason, string> = { 'given-up': FAILED_KEYWORD, 'too-large': TOO_LARGE_KEYWORD };

/** The poller's side of one session: where its looks start, and what a UIDVALIDITY change left to check. */
interface SessionState {
	session: MailboxSession;
	/** UIDs below this were all settled at the last look; new mail always gets higher UIDs. */
	low: number;
	lastFullSweep: number;
	/** UIDs present when a UIDVALIDITY change was found: checked against the store's record first, once fetched. */
	resyncUids: Set<number>;
}

export class MailboxPoller {
	readonly mailbox: string;
	readonly mailboxKey: string;
	private readonly o: MailboxPollerOptions & typeof DEFAULTS;
	private readonly ledger: UidLedger;
	private readonly checkpoint: Checkpoint;
	private readonly slots: Slots;
	/** The next look at the mailbox: cut short by new mail, a finished processing, a lost connection, stop. */
	private readonly nextLook = new Alarm();
	/** The reconnect backoff: only stop cuts it short. */
	private readonly backoff = new Alarm();
	private stopped = false;
	private loop: Promise<void> | null = null;
	private current: SessionState | null = null;
	private readonly deliveries = new Set<Promise<void>>();

	constructor(options: MailboxPollerOptions) {
		this.o = { ...DEFAULTS, ...options } as MailboxPollerOptions & typeof DEFAULTS;
		this.mailbox = this.o.mailbox;
		const c = options.connection;
		this.mailboxKey = options.mailboxKey ?? `${c.user}@${c.host.toLowerCase()}:${c.port}/${this.mailbox}`;
		this.ledger = new UidLedger(this.o.retry);
		const { afterProcessing } = this.o;
		this.checkpoint = new Checkpoint({
			store: this.o.store,
			mailboxKey: this.mailboxKey,
			ledger: this.ledger,
			initialSync: this.o.initialSync ?? { mode: 'new' },
			readMeansDone: !afterProcessing || afterProcessing.action === 'mark-read',
			onResync: (previousUidValidity, uidValidity) => this.emit({ type: 'resync', previousUidValidity, uidValidity }),
		});
		this.slots = new Slots(this.o.maxInFlight);
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
		const { connection, mailbox, maxIdleTimeMs, pollIntervalMs, timeouts, afterProcessing } = this.o;
		const folder = afterProcessing?.action === 'move' ? afterProcessing.folder : undefined;
		this.loop = keepConnected({
			newSession: () =>
				new MailboxSession(
					{ connection, mailbox, maxIdleTimeMs, pollIntervalMs, folder, timeouts },
					{
						closed: () => {
							this.slots.wakeAll();
							this.wake();
						},
						newMail: () => this.wake(),
					},
				),
			run: (session, ready) => this.run(session, ready),
			backoff: this.o.reconnect,
			stopped: () => this.stopped,
			pause: (ms) => this.backoff.sleep(ms),
			onOutage: (error, since) => this.emit({ type: 'outage', error, since }),
			onReconnected: (downForMs) => this.emit({ type: 'reconnected', downForMs }),
			settleFirst: (error) => {
				if (error) this.stopped = true;
				settle(error);
			},
		});
		await firstAttempt;
	}

	/** Stops: waits (bounded) for running processing to finish and be acknowledged, then logs out. */
	async stop(): Promise<void> {
		this.stopped = true;
		this.wake();
		this.backoff.ring();
		this.slots.wakeAll();
		await this.loop;
	}

	/** Looks at the mailbox now (e.g. a manual trigger). */
	wake(): void {
		this.nextLook.ring();
	}

	private emit(event: PollerEvent): void {
		try {
			this.o.onEvent?.(event);
		} catch {
			// A failing listener must not stop the intake.
		}
	}

	/** One session: the mailbox opened and in sync, then a look at it whenever woken or due, until stopped or lost. */
	private async run(session: MailboxSession, ready: () => void): Promise<void> {
		await session.open();
		const resyncUids = await this.checkpoint.load(session);
		const state: SessionState = { session, low: 1, lastFullSweep: 0, resyncUids };
		this.current = state;
		try {
			ready();
			this.emit({ type: 'connected', mailbox: this.mailbox, uidValidity: session.uidValidity, idle: session.idle });
			while (!this.stopped) {
				session.assertAlive();
				this.nextLook.clear();
				// A command cut off by the lost link says "Connection not available": name the outage instead.
				await this.drain(state).catch((error: unknown) => Promise.reject(session.closed ? session.lostError() : error));
				await this.nextLook.sleep(this.nextLookInMs(state));
			}
			await this.settleDeliveries();
			await session.end();
		} finally {
			this.current = null;
		}
	}

	private sweepIntervalMs(session: MailboxSession): number {
		return session.idle ? this.o.sweepIntervalMs : this.o.pollIntervalMs;
	}

	private nextLookInMs(state: SessionState): number {
		let next = Math.min(this.sweepIntervalMs(state.session), this.ledger.nextRetryAt() - Date.now());
		if (this.ledger.owesSomething()) next = Math.min(next, this.o.reconnect.baseDelayMs);
		return Math.max(0, next);
	}

	/** One look at the mailbox: settle what is owed, then hand new messages over. */
	private async drain(state: SessionState): Promise<void> {
		const { session } = state;
		await this.checkpoint.writeOwedDone();
		await this.setOwedFlags(session);
		const owedActions = this.ledger.takeOwedActions(session.uidValidity);
		if (owedActions.length) await this.applyAction(session, owedActions);

		const now = Date.now();
		const fullSweep = now - state.lastFullSweep >= this.sweepIntervalMs(session);
		const from = fullSweep ? 1 : state.low;
		if (fullSweep) state.lastFullSweep = now;
		const present = await searchFrom(session.client, from);
		session.assertAlive();
		session.assertSameNumbering();
		const { candidates, low, overRetries } = this.ledger.select(session.uidValidity, present, from, now);
		state.low = low;
		if (overRetries.length) void this.checkpoint.forgetAttempts(session.uidValidity, overRetries);
		if (candidates.length) await this.handOver(state, candidates);
	}

	/** Fetches sizes, then the messages, and starts their processing in batches of bounded count and bytes (retries one by one). */
	private async handOver(state: SessionState, uids: number[]): Promise<void> {
		const groups: number[][] = uids.filter((uid) => this.ledger.isRetry(uid)).map((uid) => [uid]);
		const fresh = uids.filter((uid) => !this.ledger.isRetry(uid));
		for (let i = 0; i < fresh.length; i += this.o.batchSize) groups.push(fresh.slice(i, i + this.o.batchSize));
		for (const group of groups) {
			for (const batch of batchesBySize(await this.wantedOf(state, group), this.o.batchBytes)) {
				if (!(await this.takeSlot(state.session))) return;
				// A failed fetch hands nothing over: its slot is free again.
				const messages = await this.fetchBatch(state.session, batch).catch((error: unknown) => {
					this.slots.release();
					return Promise.reject(error);
				});
				if (!messages.length) {
					this.slots.release();
					continue;
				}
				const delivery = this.deliver(state, messages);
				this.deliveries.add(delivery);
				void delivery.finally(() => this.deliveries.delete(delivery));
			}
		}
	}

	/** Waits for a free processing slot; false when the poller stopped meanwhile (throws when the session ended). */
	private async takeSlot(session: MailboxSession): Promise<boolean> {
		while (this.slots.full && !this.stopped && !session.closed) await this.slots.released();
		if (this.stopped) return false;
		session.assertAlive();
		this.slots.take();
		return true;
	}

	/** The heads of this group to process: too large ones flagged. */
	private async wantedOf(state: SessionState, group: number[]): Promise<MessageHead[]> {
		const { client, uidValidity } = state.session;
		const wanted: MessageHead[] = [];
		for (const head of await fetchHeads(client, group)) {
			const messageId = head.envelope?.messageId ?? null;
			if ((head.size ?? 0) > this.o.maxMessageBytes) {
				this.tooLarge(uidValidity, head, messageId);
				continue;
			}
			// Being processed under the old numbering: once its run is recorded, this copy is found a replay.
			if (state.resyncUids.has(head.uid) && messageId && this.ledger.isBeingProcessed(messageId)) continue;
			wanted.push(head);
		}
		return wanted.sort((a, b) => a.uid - b.uid);
	}

	/** Of these messages, the ones present at a UIDVALIDITY change that the store recorded already (same Message-ID, From and body). */
	private async takenInBeforeResync(state: SessionState, messages: MailboxMessage[]): Promise<MailboxMessage[]> {
		const takenIn: MailboxMessage[] = [];
		for (const message of messages) {
			if (!state.resyncUids.has(message.uid)) continue;
			const { messageId, from, raw } = message;
			if (messageId && this.o.alreadyTakenIn) {
				const copy = { messageId, from: from ?? '', bodyHash: await bodyHash([raw.subarray(headerSectionLength(raw))]) };
				if (await this.o.alreadyTakenIn(copy)) takenIn.push(message);
			}
			state.resyncUids.delete(message.uid);
		}
		return takenIn;
	}

	/** The bytes of one batch, as messages handed over (one expunged meanwhile is left out). */
	private async fetchBatch({ client, uidValidity }: MailboxSession, batch: MessageHead[]): Promise<MailboxMessage[]> {
		const sources = await fetchSources(client, batch, this.o.maxMessageBytes, this.o.streamAboveBytes);
		return batch
			.filter((head) => sources.has(head.uid))
			.map((head) => {
				const attempt = this.ledger.startProcessing(uidValidity, head.uid, head.envelope?.messageId ?? null);
				return mailboxMessage(head, sources.get(head.uid)!, { mailbox: this.mailbox, uidValidity, attempt });
			});
	}

	private tooLarge(uidValidity: string, head: MessageHead, messageId: string | null): void {
		if (!this.ledger.tooLarge(uidValidity, head.uid)) return;
		const from = head.envelope?.from?.[0]?.address ?? null;
		this.emit({ type: 'too-large', uid: head.uid, size: head.size ?? 0, limit: this.o.maxMessageBytes, messageId, subject: head.envelope?.subject ?? null, from });
	}

	private async deliver(state: SessionState, messages: MailboxMessage[]): Promise<void> {
		const { uidValidity } = state.session;
		const settled = new Set<MailboxMessage>();
		let failure: Error | null = null;
		try {
			// Settled whatever becomes of the rest: copies the store recorded before a resync, and what process settles.
			for (const message of await this.takenInBeforeResync(state, messages)) settled.add(message);
			const rest = messages.filter((m) => !settled.has(m));
			if (rest.length) await this.o.process(rest, (message) => settled.add(message));
		} catch (error) {
			failure = errorOf(error);
		} finally {
			this.slots.release();
		}
		const done = failure ? [...settled] : messages;
		// Processed under an old UIDVALIDITY: the resync finds it in the store (when recorded) or processes it again.
		if (done.length && this.ledger.succeeded(uidValidity, done)) {
			await this.recordDone(
				uidValidity,
				done.map((m) => m.uid),
				this.current?.session ?? null,
			);
		}
		if (failure) await this.failed(uidValidity, messages.filter((m) => !settled.has(m)), failure);
		this.wake();
	}

	private async failed(uidValidity: string, messages: MailboxMessage[], error: Error): Promise<void> {
		const outcomes = this.ledger.failed(uidValidity, messages, Date.now());
		for (const [i, { uid, messageId, attempt }] of messages.entries()) {
			const next = outcomes[i];
			if (next.giveUp) this.emit({ type: 'given-up', uid, messageId, attempts: attempt, error });
			else this.emit({ type: 'retry', uid, messageId, attempt, error, retryInMs: next.retryInMs });
			await this.checkpoint.countAttempts(uidValidity, uid, attempt);
		}
	}

	/** Store first (the durable record that processing succeeded), then the action on the server. */
	private async recordDone(uidValidity: string, uids: number[], session: MailboxSession | null): Promise<void> {
		this.ledger.oweDone(uidValidity, uids);
		if (!(await this.checkpoint.writeOwedDone())) return;
		if (session && !session.closed && session.uidValidity === uidValidity) await this.applyAction(session, uids);
		else this.ledger.oweAction(uidValidity, uids);
	}

	private async setOwedFlags(session: MailboxSession): Promise<void> {
		for (const { uid, reason } of this.ledger.flagsOwed(session.uidValidity)) {
			const flagged = await session.client.messageFlagsAdd([uid], [KEYWORD[reason]], { uid: true });
			this.ledger.flagged(session.uidValidity, uid);
			// Flagged, it is out of the search: a retry someone asks for by removing the keyword starts again at 1.
			if (flagged && reason === 'given-up') await this.checkpoint.forgetAttempts(session.uidValidity, [uid]);
		}
	}

	/** The after-processing action; on a lost connection the next session applies it (the UIDs are done). */
	private async applyAction(session: MailboxSession, uids: number[]): Promise<void> {
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
			if (session.closed || !client.usable) this.ledger.oweAction(session.uidValidity, uids);
			else this.emit({ type: 'action-failed', uids, error: errorOf(error) });
		}
	}

	private async settleDeliveries(): Promise<void> {
		if (!this.deliveries.size) return;
		await withTimeout(Promise.allSettled([...this.deliveries]), this.o.stopGraceMs, 'Processing in flight').catch(() => undefined);
	}
}
