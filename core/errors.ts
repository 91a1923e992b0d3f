/**
 * Bad input (an unknown id, an invalid address, a missing conversation, a malformed setting): nothing was changed.
 * Whoever catches it can say so plainly (a node: "Nothing was changed"; the CLI: exit 2) and retrying will not help.
 */
export class InvalidInputError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'InvalidInputError';
	}
}

/**
 * Our own copy of a message (the file it was written to as it arrived, the spool) could not be read while it was
 * checked or emitted: local trouble, answered "try again later" (451, 503) or retried, never a verdict on the sender.
 */
export class MessageReadError extends Error {
	constructor(readonly failure: Error) {
		super(`The message could not be read back from where it is kept: ${failure.message}`);
		this.name = 'MessageReadError';
	}
}
