/** Why a team email was refused; nothing was sent when one of these is thrown. */
export type OutboundRefusal =
	| 'invalid-header'
	| 'invalid-address'
	| 'unknown-signature-token'
	| 'from-name-taken'
	| 'unverified-sending-domain'
	| 'sending-key-mismatch'
	| 'automatic-reply-refused'
	| 'missing-incoming-message'
	| 'missing-conversation'
	| 'missing-inbox'
	| 'missing-agent';

/** A refusal with a message a user can act on; `refusal` lets callers and tests tell the cases apart. */
export class OutboundError extends Error {
	constructor(
		readonly refusal: OutboundRefusal,
		message: string,
	) {
		super(message);
		this.name = 'OutboundError';
	}
}

/** The SMTP server accepted the email but the store could not record it: the message says what was sent. */
export class UnrecordedEmailError extends Error {
	constructor(
		readonly messageId: string,
		message: string,
	) {
		super(message);
		this.name = 'UnrecordedEmailError';
	}
}
