/**
 * The intake log: what is kept about each message the inbox refused, deferred or held, and about provider
 * confirmations and forwarding tests. Its entries are built here only, whichever door or check writes them.
 */
import type { Flag } from '../flags';
import type { SmtpReply } from '../replies';
import type { IntakeLogEntry, IntakeLogInput, IntakeLogKind } from '../store/types';
import type { Envelope, IntakeResult, Verdict } from './types';

/** Who sent what to whom, as far as it is known; a message refused before it was read has no identity. */
export interface LoggedMessage {
	envelope: Envelope;
	messageId: string | null;
	from: string | null;
	subject: string | null;
}

/** One entry of the intake log: the envelope and the message's identity, with what is kept about it (never a body). */
export function intakeLogEntry(inboxId: string, kind: IntakeLogKind, message: LoggedMessage, details: IntakeLogEntry['details']): IntakeLogInput {
	const { clientIp, helo, mailFrom, rcpt } = message.envelope;
	return { inboxId, kind, clientIp, helo, mailFrom, rcpt, messageId: message.messageId, from: message.from, subject: message.subject, details };
}

/** The identity of a message the checks read. */
export function loggedMessage(result: IntakeResult): LoggedMessage {
	return { envelope: result.envelope, messageId: result.thread.messageId, from: result.message?.from?.address ?? null, subject: result.message?.subject ?? null };
}

/** Which intake-log kind a decision is written as (accepted plain messages are not logged). */
export function logKindOf(result: IntakeResult): IntakeLogKind | null {
	switch (result.verdict.action) {
		case 'reject':
			return 'rejected';
		case 'quarantine':
			return 'quarantined';
		case 'defer':
			return 'deferred';
		case 'accept':
			return result.kind === 'forwarding-confirmation' || result.kind === 'forwarding-test' ? result.kind : null;
	}
}

/** What the intake log keeps of a decision: the verdict and its reasons, or the confirmation; never a rejected body. */
export function decisionLogEntry(inboxId: string, kind: IntakeLogKind, result: IntakeResult): IntakeLogInput {
	return intakeLogEntry(inboxId, kind, loggedMessage(result), {
		verdict: result.verdict,
		...(result.verification ? { verification: result.verification } : {}),
		...(result.auth ? { auth: result.auth } : {}),
		...(result.originalSender ? { originalSender: result.originalSender } : {}),
	});
}

/** The verdict of a message refused before the checks could read it (not an email, over the size limit unread). */
export function refusalVerdict(reply: SmtpReply, reason: string, flag: Flag): Verdict {
	return { action: 'reject', smtpCode: reply.code, enhancedCode: reply.enhancedCode, reasons: [reason], flags: [flag] };
}
