import type { ParsedMail } from 'mailparser';

import type { DnsResolver } from '../dns';
import { settleForwardingTest } from '../forwarding/complete';
import type { InboxConfig } from '../inbox';
import { decisionOf, NotAnEmailError, rereadDecided, runIntake, type IntakeOutcome } from '../intake/pipeline';
import type { Envelope, IntakeResult } from '../intake/types';
import type { IntakeLogKind, SpoolEntry } from '../store/types';
import type { Store } from '../store/roles';
import { TEMPORARY_FAILURE, type SmtpReply } from './listener';

/** One message through the pipeline, as the listener saw it. */
export interface IntakeRun {
	result: IntakeResult;
	parsed: ParsedMail | null;
	receivedAt: string;
}

export interface SmtpIntakeOptions {
	store: Store;
	inbox: InboxConfig;
	inboxId: string;
	resolver?: DnsResolver;
	/** The message is durably in the spool (the 250 follows): emit it. */
	onSpooled(entry: SpoolEntry, run: IntakeRun): void;
	/** A rejected, deferred or quarantined message, already in the intake log. */
	onRefused?(run: IntakeRun): void;
	/** Local trouble (the store is down, a bug): the sender got a plain 451, the cause goes here (the n8n log). */
	onTrouble?(error: Error): void;
}

/** Which intake-log kind a decision is written as (accepted plain messages are not logged). */
export const LOG_KIND: Partial<Record<string, IntakeLogKind>> = {
	reject: 'rejected',
	quarantine: 'quarantined',
	defer: 'deferred',
	'forwarding-confirmation': 'forwarding-confirmation',
	'forwarding-test': 'forwarding-test',
};

/** What the intake log keeps: the decision and its reasons, or the confirmation; never a rejected body. */
export function intakeLogEntry(inboxId: string, kind: IntakeLogKind, result: IntakeResult, spoolId?: string) {
	return {
		inboxId,
		kind,
		clientIp: result.envelope.clientIp,
		helo: result.envelope.helo,
		mailFrom: result.envelope.mailFrom,
		rcpt: result.envelope.rcpt,
		messageId: result.thread.messageId,
		from: result.message?.from?.address ?? null,
		subject: result.message?.subject ?? null,
		details: {
			...(spoolId ? { spoolId } : {}),
			verdict: result.verdict,
			...(result.verification ? { verification: result.verification } : {}),
			...(result.auth ? { auth: result.auth } : {}),
			...(result.originalSender ? { originalSender: result.originalSender } : {}),
		},
	};
}

/** Data that is not an email at all is refused for good (a retry would not change it), and logged. */
async function refuseNonEmail(store: Store, inboxId: string, envelope: Envelope, error: NotAnEmailError): Promise<SmtpReply> {
	const reply: SmtpReply = { code: 554, enhancedCode: '5.6.0', text: `Message refused: ${error.message}` };
	await store.logIntake({
		inboxId,
		kind: 'rejected',
		...envelope,
		messageId: null,
		from: null,
		subject: null,
		details: { verdict: { action: 'reject', smtpCode: reply.code, enhancedCode: reply.enhancedCode, reasons: [error.message], flags: ['not-an-email'] } },
	});
	return reply;
}

/**
 * The hosted inbox's answer to one message: the pipeline decides with the real client IP, HELO and MAIL FROM;
 * refusals are logged; accepted mail is spooled before the 250. Any trouble (the store down, a bug) answers a plain
 * 451 so the sender retries; its cause goes to onTrouble, never to the sender (it would name the database or path).
 */
export function createSmtpIntake(options: SmtpIntakeOptions): (raw: Buffer, envelope: Envelope) => Promise<SmtpReply> {
	const decide = smtpDecision(options);
	return async (raw, envelope) => {
		try {
			return await decide(raw, envelope);
		} catch (error) {
			options.onTrouble?.(error as Error);
			return TEMPORARY_FAILURE;
		}
	};
}

function smtpDecision(options: SmtpIntakeOptions): (raw: Buffer, envelope: Envelope) => Promise<SmtpReply> {
	const { store, inbox, inboxId } = options;
	return async (raw, envelope) => {
		const receivedAt = new Date();
		const outcome: IntakeOutcome | NotAnEmailError = await runIntake(raw, { inbox, envelope, resolver: options.resolver, now: receivedAt }).catch(
			async (error: unknown) => (error instanceof NotAnEmailError ? error : await Promise.reject(error)),
		);
		if (outcome instanceof NotAnEmailError) return await refuseNonEmail(store, inboxId, envelope, outcome);
		const { result, parsed } = outcome;
		const run: IntakeRun = { result, parsed, receivedAt: receivedAt.toISOString() };
		const { verdict } = result;
		// A forwarding test completes its check first, so the log and the item carry the outcome (or it is no test).
		await settleForwardingTest(store, inboxId, run);
		const logKind = LOG_KIND[verdict.action === 'accept' ? result.kind : verdict.action];
		if (verdict.action === 'reject' || verdict.action === 'defer') {
			if (logKind) await store.logIntake(intakeLogEntry(inboxId, logKind, result));
			options.onRefused?.(run);
			// An SMTP reply line holds 512 bytes: the full reasons are in the intake log.
			const text = verdict.reasons.join('; ').slice(0, 400) || 'Message refused';
			return { code: verdict.smtpCode, enhancedCode: verdict.enhancedCode, text };
		}
		// Accepted and quarantined mail is spooled with its decision before the 250: the decision is made once.
		const quarantined = verdict.action === 'quarantine';
		const entry = await store.spoolPut({ inboxId, raw, envelope, receivedAt: run.receivedAt, decision: decisionOf(result), quarantined });
		if (logKind) await store.logIntake(intakeLogEntry(inboxId, logKind, result, entry.id));
		if (quarantined) {
			options.onRefused?.(run);
			return { code: 250, enhancedCode: '2.6.0', text: `Message accepted and held for review as ${entry.id}` };
		}
		options.onSpooled(entry, run);
		return { code: 250, enhancedCode: '2.0.0', text: `Queued as ${entry.id}` };
	};
}

/**
 * A spooled message emitted again (a failed execution, a restart, a release from quarantine): with the decision
 * it was answered with. Entries spooled before decisions were kept go through the pipeline again, as of arrival.
 */
export async function runOfSpooled(entry: SpoolEntry, inbox: InboxConfig, resolver?: DnsResolver): Promise<IntakeRun> {
	const { result, parsed } = entry.decision
		? await rereadDecided(entry.raw, entry.decision)
		: await runIntake(entry.raw, { inbox, envelope: entry.envelope, resolver, now: new Date(entry.receivedAt) });
	return { result, parsed, receivedAt: entry.receivedAt };
}
