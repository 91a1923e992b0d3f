import type { ParsedMail } from 'mailparser';

import type { DnsResolver } from '../dns';
import type { Flag } from '../flags';
import type { InboxConfig, IntakeDoor } from '../inbox';
import type { MessageBytes } from '../message-bytes';
import type { SmtpReply } from '../replies';
import type { AuthDetails } from './authentication';
import type {
	AuthSummary,
	Envelope,
	MessageKind,
	OriginalSender,
	ThreadKeys,

	VerdictAction,
	Verification,
} from './types';

/** A stage's proposal for the SMTP answer; the most severe one wins. */
export interface Decision {
	action: VerdictAction;
	smtpCode: number;
	enhancedCode: string;
	reason: string;
}

/** Everything the stages read and write, in one place, so each stage stays a small pure step. */
export interface IntakeState {
	/** The message from its first header field on, read as a stream by each stage that reads it whole. */
	message: MessageBytes;
	/** Its first bytes: the header section at least (as far as one may go), in memory. */
	head: Buffer;
	inbox: InboxConfig;
	via: IntakeDoor;
	envelope: Envelope;
	resolver: DnsResolver;
	now: Date | null;
	/** Bytes of the top-level header section, blank line included. */
	headerBytes: number;
	/** Why the body is not parsed or the message not authenticated (too large, a header section mailauth cannot read in bounded time). */
	bodySkipped: string | null;
	parsed: ParsedMail | null;
	authDetails: AuthDetails | null;
	decisions: Decision[];
	reasons: string[];
	flags: Set<Flag>;
	kind: MessageKind;
	verification: Verification | null;
	originalSender: OriginalSender | null;
	auth: AuthSummary | null;
	thread: ThreadKeys;
}

export interface IntakeStage {
	name: string;
	run(state: IntakeState): Promise<void> | void;
}

/** A stage's proposal, answered with a reply of the catalogue (core/replies.ts) whose text is the reason. */
export function decision(action: VerdictAction, reply: SmtpReply): Decision {
	return { action, smtpCode: reply.code, enhancedCode: reply.enhancedCode, reason: reply.text };
}

/** Rejected or deferred: the sender is told no, so nothing more is worked out (quarantine is not a refusal). */
export function isRefused(state: IntakeState): boolean {
	return state.decisions.some((d) => d.action === 'reject' || d.action === 'defer');
}

/** Flags a problem with its reason (both deduplicated). */
export function note(state: IntakeState, flag: Flag, reason?: string): void {
	state.flags.add(flag);
	if (reason && !state.reasons.includes(reason)) state.reasons.push(reason);
}

