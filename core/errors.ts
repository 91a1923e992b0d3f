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
