/**
 * One message from the mailbox through the same intake door as SMTP mode (core/intake/door.ts). IMAP gives no client IP, HELO or
 * MAIL FROM: SPF is taken only from the Authentication-Results of a server the inbox names (trustedAuthservIds);
 * the mailbox's own server wrote the topmost one, so on this door it is believed without a relay IP.
 */
import type { DnsResolver } from '../dns';
import type { InboxConfig } from '../inbox';
import { createIntakeDoor, type DoorDecision, type DoorStore } from '../intake/door';
import { intakeLogEntry, refusalVerdict } from '../intake/intake-log';
import type { DecidedMessage, Envelope } from '../intake/types';
import { SMTP_REPLIES } from '../replies';
import { normalizeMessageId } from '../store/message-id';
import type { IntakeLogStore } from '../store/roles';
import { TOO_LARGE_KEYWORD, type MailboxMessage } from './mailbox-poller';

export interface ImapDoorOptions {
	store: DoorStore;
	inbox: InboxConfig;
	inboxId: string;
	resolver?: DnsResolver;
	/** A test run changes nothing: quarantined mail is then only logged, not held (the poller will hold it). */
	holdQuarantined?: boolean;
}

/** What became of one message: `emit` for accepted mail and confirmations; `aside` for refused mail (already logged). */
export type ImapDoorOutcome = { action: 'emit'; run: DecidedMessage } | { action: 'aside'; run: DecidedMessage } | { action: 'refused-not-email' };

/** The pipeline asked to try later (DNS trouble with "defer"): the message stays untouched and is retried. */
export class IntakeDeferredError extends Error {
	constructor(reasons: string[]) {
		super(`Intake deferred, will retry: ${reasons.join('; ') || 'temporary problem'}`);
		this.name = 'IntakeDeferredError';
	}
}

/** The Return-Path the delivering server wrote: the closest thing to MAIL FROM a mailbox keeps. */
function returnPath(raw: Buffer): string | null {
	const end = raw.indexOf('\r\n\r\n');
	const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 64 * 1024) : end).toString('latin1');
	const match = /^Return-Path:[ \t]*<([^>\r\n]*)>/im.exec(head);
	return match ? match[1] || null : null;
}

function imapEnvelope(raw: Buffer, inbox: InboxConfig): Envelope {
	return { clientIp: null, helo: null, mailFrom: returnPath(raw), rcpt: [inbox.address] };
}

/** The poller's side of the door's decision: a deferred message is left in the mailbox (the poller retries it). */
function imapOutcome(decision: DoorDecision): ImapDoorOutcome {
	if (decision.outcome === 'not-an-email') return { action: 'refused-not-email' };
	const { message } = decision;
	const { verdict } = message.result;
	if (verdict.action === 'defer') throw new IntakeDeferredError(verdict.reasons);
	return { action: verdict.action === 'accept' ? 'emit' : 'aside', run: message };
}

export function createImapDoor(options: ImapDoorOptions): (message: MailboxMessage) => Promise<ImapDoorOutcome> {
	const door = createIntakeDoor({ door: 'imap', ...options });
	return async (message) =>
		imapOutcome(
			await door({
				raw: message.raw,
				envelope: imapEnvelope(message.raw, options.inbox),
				// As of when the mailbox received it, so a retry decides the same way (DKIM expiry included).
				receivedAt: message.internalDate ? new Date(message.internalDate) : new Date(),
				mailbox: { name: message.mailbox, uidValidity: message.uidValidity, uid: message.uid },
			}),
		);
}

/** A message over the inbox's size limit, which the poller left unread in the mailbox. */
export interface TooLargeMessage {
	uid: number;
	size: number;
	limit: number;
	messageId: string | null;
	from: string | null;
	subject: string | null;
}

/** Refused as SMTP refuses it (552 5.3.4), in the intake log with where it stays in the mailbox. */
export async function logTooLarge(store: IntakeLogStore, inboxId: string, inbox: InboxConfig, mailbox: string, message: TooLargeMessage): Promise<void> {
	const reason = `Message size ${message.size} bytes exceeds the inbox limit of ${message.limit} bytes; not downloaded, flagged ${TOO_LARGE_KEYWORD}`;
	const unread = { envelope: { clientIp: null, helo: null, mailFrom: null, rcpt: [inbox.address] }, messageId: message.messageId ? normalizeMessageId(message.messageId) : null, from: message.from, subject: message.subject };
	const verdict = refusalVerdict(SMTP_REPLIES.tooLarge(reason), reason, 'too-large');
	await store.logIntake(intakeLogEntry(inboxId, 'rejected', unread, { verdict, mailbox: { name: mailbox, uid: message.uid } }));
}
