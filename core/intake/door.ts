/**
 * The intake door: the one way a message comes in, whichever way it arrived (an SMTP client, a mailbox, the CLI's
 * explain, later an HTTP post). Bytes and envelope in, a final decision out: the checks run, a forwarding test
 * settles its check, the decision is logged once and the message spooled where its door spools before answering.
 * Each door maps that decision to its own answer (an SMTP reply, the IMAP poller's emit or set aside, the CLI's print).
 */
import { rememberingResolver, systemResolver, type DnsResolver } from '../dns';
import { settleForwardingTest } from '../forwarding/complete';
import type { InboxConfig, IntakeDoor } from '../inbox';
import { asBytes, type MessageBytes } from '../message-bytes';
import type { SpoolEntry } from '../store/types';
import type { ForwardingCheckStore, IntakeLogStore, SpoolStore } from '../store/roles';
import { WRITES_ON_THE_WAY } from '../store/writes-on-the-way';
import { SMTP_REPLIES } from '../replies';
import { decisionLogEntry, intakeLogEntry, logKindOf, refusalVerdict } from './intake-log';
import { decisionOf, NotAnEmailError, rereadDecided, runChecks, type IntakeOutcome } from './pipeline';
import type { DecidedMessage, Envelope, VerdictAction } from './types';

/** A message at the door. */
export interface Arrival {
	/** Its bytes, in memory (a mailbox fetch, an HTTP body) or where they were written as they arrived (SMTP). */
	raw: Buffer | MessageBytes;
	envelope: Envelope;
	/** When it was received, what the checks run as of (DKIM expiry included); now when absent. */
	receivedAt?: Date;
	/** When a sweep may emit it once spooled, by what was decided (default: at once): later when its own run carries it (HTTP). */
	dueAt?: (message: DecidedMessage) => string;
	/** Where a mailbox keeps it (IMAP): logged with a refusal before the checks, to find it again. */
	mailbox?: { name: string; uidValidity: string; uid: number };
}

/** What the door decided. */
export type DoorDecision =
	/** Empty, binary or headerless: refused for good before any check (and logged). */
	| { outcome: 'not-an-email'; problem: string }
	/** Decided by the checks; `spooled` is the spool entry when the door spooled it. */
	| { outcome: 'decided'; message: DecidedMessage; spooled: SpoolEntry | null };

export type DoorStore = IntakeLogStore & SpoolStore & ForwardingCheckStore;

export type DoorOptions = { inbox: InboxConfig; resolver?: DnsResolver } & (
	| {
			door: IntakeDoor;
			store: DoorStore;
			inboxId: string;
			/** A test run changes nothing: quarantined mail is then only logged, not held. */
			holdQuarantined?: boolean;
	  }
	| {
			/** explain: decides only, keeps nothing (no store, no forwarding check settled). */
			door: 'cli';
			/** The door the message is explained as coming through (whose Authentication-Results are believed). */
			as: IntakeDoor;
	  }
);

/** What each door keeps before it answers, and when a deferred message is recorded. */
const DOORS: Record<IntakeDoor, { spools: readonly VerdictAction[]; recordsDeferral: boolean }> = {
	// The sender keeps the message only until the 250: accepted and quarantined mail is spooled before it (the
	// decision with it, made once); each deferral is answered 451 and logged.
	smtp: { spools: ['accept', 'quarantine'], recordsDeferral: true },
	// The mailbox keeps the message: only quarantined mail goes to the spool, to be released from there; a deferred
	// message stays in the mailbox to be tried again, recorded once it is decided.
	imap: { spools: ['quarantine'], recordsDeferral: false },
	// As SMTP: the relay or provider keeps the message only until the 2xx.
	http: { spools: ['accept', 'quarantine'], recordsDeferral: true },
};

export function createIntakeDoor(options: DoorOptions): (arrival: Arrival) => Promise<DoorDecision> {
	const { inbox } = options;
	const resolver = rememberingResolver(options.resolver ?? systemResolver());
	const via = options.door === 'cli' ? options.as : options.door;
	const decide = async (arrival: Arrival, writeArrived: () => void): Promise<DoorDecision> => {
		const receivedAt = arrival.receivedAt ?? new Date();
		const bytes = asBytes(arrival.raw);
		const outcome: IntakeOutcome | NotAnEmailError = await runChecks(bytes, { inbox, via, envelope: arrival.envelope, resolver, now: receivedAt }).catch(
			async (error: unknown) => (error instanceof NotAnEmailError ? error : await Promise.reject(error)),
		);
		if (outcome instanceof NotAnEmailError) {
			if (options.door !== 'cli') {
				const verdict = refusalVerdict(SMTP_REPLIES.notAnEmail(outcome.message), outcome.message, 'not-an-email');
				const unread = { envelope: arrival.envelope, messageId: null, from: null, subject: null };
				await options.store.logIntake(intakeLogEntry(options.inboxId, 'rejected', unread, { verdict, ...(arrival.mailbox ? { mailbox: arrival.mailbox } : {}) }));
			}
			return { outcome: 'not-an-email', problem: outcome.message };
		}
		const message: DecidedMessage = { result: outcome.result, content: outcome.content, receivedAt: receivedAt.toISOString() };
		const { verdict } = message.result;
		if (options.door === 'cli' || (verdict.action === 'defer' && !DOORS[options.door].recordsDeferral)) return { outcome: 'decided', message, spooled: null };

		const { store, inboxId } = options;
		// A forwarding test completes its check first, so the log and the item carry the outcome (or it is no test).
		await settleForwardingTest(store, inboxId, message);
		const quarantined = verdict.action === 'quarantine';
		const spoolsIt = DOORS[options.door].spools.includes(verdict.action) && !(quarantined && options.holdQuarantined === false);
		const logKind = logKindOf(message.result);
		const log = logKind ? decisionLogEntry(inboxId, logKind, message.result) : undefined;
		// The entry and its log entry in one transaction: a failed log write must not leave a held copy the sender, told
		// to try again, would make a second of.
		const spooling = spoolsIt
			? store.spoolPut({ inboxId, message: bytes, envelope: arrival.envelope, receivedAt: message.receivedAt, dueAt: arrival.dueAt?.(message), decision: decisionOf(message.result), quarantined, log })
			: null;
		writeArrived();
		const spooled = await spooling;
		if (!spooled && log) await store.logIntake(log);
		return { outcome: 'decided', message, spooled };
	};
	// Where accepted mail is spooled, the write each message will make is announced to the store's group commit
	// (writes-on-the-way.ts); a mailbox's door spools only quarantined mail.
	if (options.door === 'cli' || !DOORS[options.door].spools.includes('accept')) return (arrival) => decide(arrival, () => undefined);
	return async (arrival) => {
		const arrived = WRITES_ON_THE_WAY.announce();
		try {
			return await decide(arrival, arrived);
		} finally {
			arrived();
		}
	};
}

/**
 * A spooled message emitted again (a failed execution, a restart, a release from quarantine): with the decision
 * it was answered with. Entries spooled before decisions were kept go through the checks again, as of arrival.
 */
export async function runOfSpooled(entry: SpoolEntry, bytes: MessageBytes, inbox: InboxConfig, resolver?: DnsResolver): Promise<DecidedMessage> {
	const { result, content } = entry.decision
		? await rereadDecided(bytes, entry.decision)
		: await runChecks(bytes, { inbox, envelope: entry.envelope, resolver, now: new Date(entry.receivedAt) });
	return { result, content, receivedAt: entry.receivedAt };
}

/**
 * A spooled message as it is to be emitted again (runOfSpooled). Decided anew (re-driven with a re-check, or spooled
 * before decisions were kept), its decision is kept, unless the checks would not accept it now: its sender was
 * answered 250 long ago, so it is no longer refused but held for review (quarantined, in the intake log; null: nothing
 * to emit), and a deferral (DNS trouble) fails this attempt, to be checked again at the next. Someone's release stands.
 */
export async function decideSpooled(store: SpoolStore, inboxId: string, entry: SpoolEntry, bytes: MessageBytes, inbox: InboxConfig, resolver?: DnsResolver): Promise<DecidedMessage | null> {
	const message = await runOfSpooled(entry, bytes, inbox, resolver);
	if (entry.decision) return message;
	const { result } = message;
	if (result.verdict.action !== 'accept' && !entry.released) {
		if (result.verdict.action === 'defer') throw new Error(`Checked again, the message was deferred: ${result.verdict.reasons.join('; ')}`);
		// Held (or, no longer pending, settled by another process meanwhile): nothing to emit.
		await store.spoolHold(entry.id, decisionOf(result), decisionLogEntry(inboxId, 'quarantined', result));
		return null;
	}
	await store.spoolKeepDecision(entry.id, decisionOf(result));
	return message;
}
