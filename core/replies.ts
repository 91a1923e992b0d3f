/**
 * The one catalogue of SMTP replies, shared by the listener, its guard, the intake door, the checks and the IMAP
 * size refusal: each answer defined once with its reply code, RFC 3463 enhanced code and text. Where a check
 * decides, the text is its reason (the full reasons of a verdict go to the intake log).
 */

/** One SMTP answer: the reply code, its RFC 3463 enhanced code and the text a mail admin reads. */
export interface SmtpReply {
	code: number;
	enhancedCode: string;
	text: string;
}

const reply = (code: number, enhancedCode: string, text: string): SmtpReply => ({ code, enhancedCode, text });

const tooLarge = (reason: string) => reply(552, '5.3.4', reason);
const tooManyOf = (what: string) => reply(421, '4.7.0', `Too many ${what}, closing connection`);
const closing = (why: string) => reply(421, '4.4.2', `${why}, closing connection`);

export const SMTP_REPLIES = {
	// The answer on a message, from the intake door's decision.
	/** In the spool before this answer: the sender's part is done. */
	queued: (spoolId: string) => reply(250, '2.0.0', `Queued as ${spoolId}`),
	/** Quarantined: in the spool too, held until someone releases or deletes it. */
	heldForReview: (spoolId: string) => reply(250, '2.6.0', `Message accepted and held for review as ${spoolId}`),
	/** Empty, binary or headerless data: refused for good, a retry would not change it. */
	notAnEmail: (problem: string) => reply(554, '5.6.0', `Message refused: ${problem}`),
	/** Local trouble (the store down, a bug): the cause goes to the n8n log, never to the sender. */
	temporaryFailure: reply(451, '4.3.0', 'Temporary local problem, try again later'),
	inboxDeactivated: reply(451, '4.3.0', 'The hosted inbox was just deactivated, try again later'),
	tooLargeFor: (address: string, limit: number) => tooLarge(`Message too big: the limit of ${address} is ${limit} bytes`),
	/** The listener's in-flight byte budget had no room: the message was drained, not kept, and the sender retries. */
	insufficientStorage: reply(451, '4.3.1', 'Insufficient system storage, try again later'),
	/** A declared SIZE larger than the room left in the budget, answered at MAIL FROM (RFC 1870). */
	insufficientStorageForSize: reply(452, '4.3.1', 'Insufficient system storage for a message of this size, try again later'),

	// The checks' verdicts: the text is the check's reason.
	/** Accepted, and what a quarantined message's verdict records (the door answers heldForReview). */
	accepted: (reason: string) => reply(250, '2.0.0', reason),
	/** Refused by the inbox's policy: DMARC, or no author DMARC could check. */
	refusedByPolicy: (reason: string) => reply(550, '5.7.1', reason),
	tooLarge,
	/** The checks could not finish (DNS trouble, the intake deadline): the sender retries. */
	tryAgainLater: (reason: string) => reply(451, '4.7.0', reason),

	// Recipients.
	noSuchInbox: (address: string) => reply(550, '5.1.1', `<${address}>: no such hosted inbox here`),
	relayingDenied: (address: string) => reply(550, '5.1.1', `<${address}>: relaying denied, this server only accepts mail for its hosted addresses`),
	oneInboxPerMessage: (address: string) => reply(452, '4.5.3', `<${address}>: one hosted inbox per message, send it for this address in another transaction`),

	// The HTTP door: what a request that carries no message through is told (its HTTP status says the rest).
	/** A post that is not its format (a missing field, a wrong media type, a malformed form or JSON): nothing kept. */
	requestRefused: (problem: string) => reply(554, '5.5.4', `Request refused: ${problem}`),

	// The session: what the listener and its guard answer a client.
	tooManyConnections: reply(421, '4.7.0', 'Too many connections from your address, try again later'),
	authenticationInvalid: reply(535, '5.7.8', 'Authentication credentials invalid'),
	authNeedsOwnCertificate: reply(538, '5.7.11', "AUTH needs the listener's own TLS certificate, and none is set"),
	tlsRequired: reply(530, '5.7.0', 'Must issue a STARTTLS command first'),
	tooManyJunkCommands: tooManyOf('junk commands'),
	tooManyErrors: tooManyOf('errors'),
	tooManyRefusedRecipients: tooManyOf('refused recipients'),
	tooManyAuthFailures: tooManyOf('failed authentication attempts'),
	sessionTooLong: closing('Session time limit exceeded'),
	dataTooSlow: closing('Message not received in time'),
} as const;

/** A reply as its line reads after the code: the enhanced code, then the text. */
export function replyLine(smtpReply: SmtpReply): string {
	return `${smtpReply.enhancedCode} ${smtpReply.text}`;
}

/** The answer to a refused or deferred message: its verdict's code, with its reasons as the text. */
export function verdictReply(verdict: { smtpCode: number; enhancedCode: string; reasons: string[] }): SmtpReply {
	// An SMTP reply line holds 512 bytes: the full reasons are in the intake log.
	return reply(verdict.smtpCode, verdict.enhancedCode, verdict.reasons.join('; ').slice(0, 400) || 'Message refused');
}
