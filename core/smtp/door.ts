import type { DnsResolver } from '../dns';
import type { InboxConfig } from '../inbox';
import type { MessageBytes } from '../message-bytes';
import { createIntakeDoor, type DoorDecision, type DoorStore } from '../intake/door';
import type { DecidedMessage, Envelope } from '../intake/types';
import { SMTP_REPLIES, verdictReply, type SmtpReply } from '../replies';
import type { SpoolEntry } from '../store/types';

export interface SmtpDoorOptions {
	store: DoorStore;
	inbox: InboxConfig;
	inboxId: string;
	resolver?: DnsResolver;
	/** The message is durably in the spool (the 250 follows): emit it. */
	onSpooled(entry: SpoolEntry, message: DecidedMessage): void;
	/** A rejected, deferred or quarantined message, already in the intake log. */
	onRefused?(message: DecidedMessage): void;
	/** Local trouble (the store is down, a bug): the sender got a plain 451, the cause goes here (the n8n log). */
	onTrouble?(error: Error): void;
}

/**
 * The hosted inbox's answer to one message, through the intake door with the real client IP, HELO and MAIL FROM:
 * refusals are logged; accepted mail is spooled before the 250. Any trouble (the store down, a bug) answers a plain
 * 451 so the sender retries; its cause goes to onTrouble, never to the sender (it would name the database or path).
 */
export function createSmtpDoor(options: SmtpDoorOptions): (raw: Buffer | MessageBytes, envelope: Envelope) => Promise<SmtpReply> {
	const door = createIntakeDoor({ door: 'smtp', store: options.store, inbox: options.inbox, inboxId: options.inboxId, resolver: options.resolver });
	return async (raw, envelope) => {
		try {
			return smtpAnswer(await door({ raw, envelope }), options);
		} catch (error) {
			options.onTrouble?.(error as Error);
			return SMTP_REPLIES.temporaryFailure;
		}
	};
}

/** The SMTP answer to the door's decision; accepted mail goes on to be emitted, refused and held mail aside. */
function smtpAnswer(decision: DoorDecision, options: SmtpDoorOptions): SmtpReply {
	if (decision.outcome === 'not-an-email') return SMTP_REPLIES.notAnEmail(decision.problem);
	const { message, spooled } = decision;
	const { verdict } = message.result;
	if (verdict.action === 'reject' || verdict.action === 'defer') {
		options.onRefused?.(message);
		return verdictReply(verdict);
	}
	// The SMTP door spools accepted and quarantined mail before it answers: the 250 speaks for a stored copy.
	if (!spooled) throw new Error(`The SMTP intake door answered a ${verdict.action} without spooling the message`);
	if (verdict.action === 'quarantine') {
		options.onRefused?.(message);
		return SMTP_REPLIES.heldForReview(spooled.id);
	}
	options.onSpooled(spooled, message);
	return SMTP_REPLIES.queued(spooled.id);
}
