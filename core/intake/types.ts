import type { Flag } from '../flags';

/**
 * What the intake pipeline decides about one raw message. This is exactly what
 * `hosted-inbox explain` prints, and the heart of the item the trigger emits.
 * Every decision is plain data with its reasons.
 */

export type VerdictAction = 'accept' | 'reject' | 'quarantine' | 'defer';

export interface Verdict {
	action: VerdictAction;
	/** SMTP reply code the listener answers with (250, 550, 552, 451 ...). */
	smtpCode: number;
	/** RFC 3463 enhanced status code, e.g. "5.7.1". */
	enhancedCode: string;
	/** Human-readable reasons an IT person can act on. */
	reasons: string[];
	/** Machine-readable facts from the one vocabulary (core/flags.ts), e.g. "dns-error", "dmarc-fail-arc-rescued", "list". */
	flags: Flag[];
}

export type MessageKind = 'message' | 'forwarding-confirmation' | 'forwarding-test' | 'auto-reply' | 'bounce';

export interface Verification {
	provider: string | null;
	code: string | null;
	confirmUrl: string | null;
	requestedBy: string | null;
	/** forwarding-test only: what the token did to its forwarding check (set by the SMTP and IMAP intake, core/forwarding). The token itself is never kept. */
	check?: ForwardingTestOutcome;
}

export interface ForwardingTestOutcome {
	/**
	 * verified now (only this one says forwarding works); delivered straight to the hosted address with no sign of
	 * forwarding (the check fails); already verified (a replay); arrived after the deadline; refused by the security
	 * checks; or a token that opens no check here.
	 */
	outcome: 'verified' | 'not-forwarded' | 'already-verified' | 'too-late' | 'refused' | 'unknown-token';
	checkId: string | null;
	detail: string;
}

export type OriginalSenderMethod = 'from-header' | 'list-rewrite' | 'inline-forward' | 'attached-message';

export interface OriginalSender {
	address: string | null;
	name: string | null;
	method: OriginalSenderMethod;
	/** The mailbox or list that forwarded the message, when there was one. */
	forwardedBy: string | null;
	/** false when the claim could not be authenticated (e.g. a list rewrite whose list message did not verify). */
	trusted: boolean;
	evidence: string[];
	/**
	 * A team member's manual forward (inline or attached): the forwarded message's subject (its block's Subject,
	 * else the outer subject without forward prefixes), what its conversation and ticket are named. null otherwise.
	 */
	subject: string | null;
}

export interface AuthSummary {
	spf: { result: string; domain: string | null; clientIp: string | null; comment: string | null };
	dkim: { result: string; signatures: Array<{ domain: string; selector: string | null; result: string; aligned: boolean; comment: string | null }> };
	dmarc: { result: string; domain: string | null; policy: string | null; comment: string | null };
	/** vouch: what a trusted sealer recorded on receipt for the From domain (the ground of a DMARC rescue), or null. */
	arc: { result: string; sealer: string | null; trusted: boolean; vouch: string | null; comment: string | null };
}

export interface ThreadKeys {
	/** Normalised (no angle brackets, domain part lower-cased); null when the message had none. */
	messageId: string | null;
	inReplyTo: string[];
	references: string[];
	/** SHA-256 of the raw body: with the Message-ID and the sender, what makes a copy a replay of a recorded message. */
	contentHash: string | null;
}

export interface Envelope {
	clientIp: string | null;
	helo: string | null;
	mailFrom: string | null;
	rcpt: string[];
}

export interface AddressValue {
	address: string;
	name: string;
}

export interface AttachmentInfo {
	filename: string | null;
	contentType: string;
	size: number;
	contentId: string | null;
	inline: boolean;
}

/** The parsed message as later nodes need it (the CLI prints it without attachment bytes). */
export interface MessageFacts {
	subject: string;
	from: AddressValue | null;
	to: AddressValue[];
	cc: AddressValue[];
	replyTo: AddressValue[];
	date: string | null;
	text: string;
	html: string | null;
	attachments: AttachmentInfo[];
}

/**
 * An attachment as the intake read it: its bytes are read again from the message when it is emitted (as n8n
 * binary data); `content` keeps only the start of a forwarded message or a delivery report (a bounce's parts).
 */
export interface AttachmentContent {
	filename: string | null;
	contentType: string;
	size: number;
	content: Buffer;
}

/**
 * What of a message leaves the intake besides its facts, as plain data: its attachments, and every header field as
 * decoded text (the forwarding test's token and the path it took). The parser's object stays inside.
 */
export interface MessageContent {
	/** By lower-case field name, in the order the fields stand; read them with headerValues (core/intake/content.ts). */
	headers: Record<string, string[]>;
	attachments: AttachmentContent[];
}

export interface IntakeResult {
	verdict: Verdict;
	kind: MessageKind;
	verification: Verification | null;
	originalSender: OriginalSender | null;
	auth: AuthSummary | null;
	thread: ThreadKeys;
	size: number;
	envelope: Envelope;
	message: MessageFacts | null;
}

/** What the intake decided about a message, without what is read again from its bytes (the message's facts). */
export type IntakeDecision = Omit<IntakeResult, 'message'>;

/** One message as an intake door decided it: the result, its content, and when it was received. */
export interface DecidedMessage {
	result: IntakeResult;
	content: MessageContent | null;
	receivedAt: string;
}
