import { InvalidInputError } from '../../errors';

let lastNow = 0;

/**
 * The store's clock: strictly increasing within the process (a millisecond later than the last when the clock has
 * not moved on), so "the first recorded" (ORDER BY created_at) is never a tie broken by a random id.
 */
export function now(): string {
	lastNow = Math.max(Date.now(), lastNow + 1);
	return new Date(lastNow).toISOString();
}

/** A time a caller gives, as the store keeps it (ISO, UTC); a InvalidInputError names anything else. */
export function checkTimestamp(value: unknown, what: string): string {
	const date = typeof value === 'string' ? new Date(value) : null;
	if (!date || Number.isNaN(date.getTime())) throw new InvalidInputError(`${what} must be an ISO date-time, not ${JSON.stringify(value)}`);
	return date.toISOString();
}
