/**
 * One message from the mailbox through the same pipeline as SMTP mode. IMAP gives no client IP, HELO or
 * MAIL FROM: SPF is taken only from the Authentication-Results of a server the inbox names (trustedAuthservIds);
 * the mailbox's own server wrote the topmost one, so on this door it is believed without a relay IP.
 */
import type { DnsResolver } from '../dns';
import { settleForwardingTest } from '../forwarding/complete';
import type { InboxConfig } from '../inbox';
import { decisionOf, NotAnEmailError, runIntake } from '../intake/pipeline';
import type { Envelope } from '../intake/types';
import { intakeLogEntry, LOG_KIND, type IntakeRun } from '../smtp/intake';
import type { ForwardingCheckStore, IntakeLogStore, SpoolStore } from '../store/roles';
import type { MailboxMessage } from './mailbox-poller';

export interface ImapIntakeOptions {
	store: IntakeLogStore & SpoolStore & ForwardingCheckStore;
	inbox: InboxConfig;
	inboxId: string;
	resolver?: DnsResolver;
	/** A test run changes nothing: quarantined mail is then only logged, not held (the poller will hold it). */
	holdQuarantined?: boolean;
}

/** What became of one message: `emit` for accepted mail and confirmations; `aside` for refused mail (already logged). */
export type ImapIntakeOutcome = { action: 'emit'; run: IntakeRun } | { action: 'aside'; run: IntakeRun } | { action: 'refused-not-email' };

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

export function createImapIntake(options: ImapIntakeOptions): (message: MailboxMessage) => Promise<ImapIntakeOutcome> {
	const { store, inbox, inboxId } = options;
	return async (message) => {
		const envelope = imapEnvelope(message.raw, inbox);
		// As of when the mailbox received it, so a retry decides the same way (DKIM expiry included).
		const receivedAt = message.internalDate ? new Date(message.internalDate) : new Date();
		const outcome = await runIntake(message.raw, { inbox, via: 'imap', envelope, resolver: options.resolver, now: receivedAt }).catch((error: unknown) =>
			error instanceof NotAnEmailError ? error : Promise.reject(error),
		);
		if (outcome instanceof NotAnEmailError) {
			await store.logIntake({
				inboxId,
				kind: 'rejected',
				...envelope,
				messageId: null,
				from: null,
				subject: null,
				details: {
					verdict: { action: 'reject', smtpCode: 554, enhancedCode: '5.6.0', reasons: [outcome.message], flags: ['not-an-email'] },
					mailbox: { name: message.mailbox, uidValidity: message.uidValidity, uid: message.uid },
				},
			});
			return { action: 'refused-not-email' };
		}
		const { result, parsed } = outcome;
		const run: IntakeRun = { result, parsed, receivedAt: receivedAt.toISOString() };
		const { verdict } = result;
		if (verdict.action === 'defer') throw new IntakeDeferredError(verdict.reasons);
		// Same as SMTP mode: a forwarding test completes its check before it is logged and emitted.
		await settleForwardingTest(store, inboxId, run);
		const logKind = LOG_KIND[verdict.action === 'accept' ? result.kind : verdict.action];
		// Quarantined mail is held in the spool with its decision, to be released or deleted from there.
		const held =
			verdict.action === 'quarantine' && options.holdQuarantined !== false
				? await store.spoolPut({ inboxId, raw: message.raw, envelope, receivedAt: run.receivedAt, decision: decisionOf(result), quarantined: true })
				: null;
		if (logKind) await store.logIntake(intakeLogEntry(inboxId, logKind, result, held?.id));
		return { action: verdict.action === 'accept' ? 'emit' : 'aside', run };
	};
}
