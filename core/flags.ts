/**
 * The one vocabulary of flags, shared by intake and outbound: what the intake notes on a message (`verdict.flags`),
 * what Resolve Original Sender adds, and what an automatic reply reads before it answers. A flag names a fact; the
 * verdict's reasons say it in words.
 */
export const FLAGS = [
	// Authentication
	'dmarc-fail',
	'dmarc-fail-arc-rescued',
	'dmarc-fail-relay-rescued',
	'dmarc-permerror',
	'dns-error',
	'monitor-mode',
	'would-reject',
	'would-quarantine',
	'authentication-results-ignored',
	'dkim-signatures-ignored',
	// The message itself
	'too-large',
	'header-too-large',
	'header-unreadable',
	'from-not-one-mailbox',
	'mime-too-deep',
	'mime-parse-error',
	'bad-transfer-encoding',
	'html-not-converted',
	'leading-junk-skipped',
	'nul-replaced',
	'control-characters-folded',
	'not-an-email',
	'intake-deadline',
	'stage-error',
	// Forwarding and the original sender
	'forward-ignored',
	'forward-author-without-address',
	'forward-author-ambiguous',
	'forward-unreadable',
	'list-rewrite-untrusted',
	'forwarding-test-foreign',
	'verification-unauthenticated',
	// Automated mail an automatic reply never answers (RFC 3834), and our own mail coming back
	'auto-submitted',
	'bulk',
	'list',
	'loop',
	'own-mail',
	// Set by Resolve Original Sender
	'untrusted-sender',
	'thread-refused',
] as const;

export type Flag = (typeof FLAGS)[number];

/** Why an automatic reply must not answer mail with this flag, for the flags that say the mail is automated or ours. */
export const NOT_ANSWERED: Partial<Record<Flag, string>> = {
	'auto-submitted': 'it is automatic mail (Auto-Submitted)',
	bulk: 'it is bulk mail (Precedence: bulk or junk)',
	list: 'it is list or bulk mail (List-Id, List-Unsubscribe or Precedence: list)',
	loop: 'it is our own mail coming back (loop marker)',
	'own-mail': 'it is our own mail coming back (one of our Message-IDs)',
};

/**
 * Marks every message we send, naming the inbox that sent it, so that our own mail coming back (a forwarding rule,
 * a group echoing it) is recognised as a loop and never answered.
 */
export const LOOP_HEADER = 'X-Hosted-Inbox-Loop';
