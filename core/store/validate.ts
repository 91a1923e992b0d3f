import { isEmailAddress } from '../address';
import { attempt } from './sql';
import { type Availability, type InboxRetention, type WorkingHours } from './types';
import { InvalidInputError } from '../errors';

/** The address as given (trimmed) and its case-insensitive key; a InvalidInputError names a malformed one. */
export function checkEmail(value: unknown, what: string): { email: string; key: string } {
	const email = typeof value === 'string' ? value.trim() : '';
	if (!isEmailAddress(email)) throw new InvalidInputError(`Invalid ${what} email address: ${JSON.stringify(value)}`);
	return { email, key: email.toLowerCase() };
}

export function checkText(value: unknown, what: string): string {
	if (typeof value !== 'string' || value.trim() === '') throw new InvalidInputError(`${what} must be a non-empty text`);
	return value.trim();
}

export function checkAvailability(value: unknown): Availability {
	if (value !== 'available' && value !== 'away') throw new InvalidInputError(`Availability must be "available" or "away", not ${JSON.stringify(value)}`);
	return value;
}

/** The largest capacity an agent may have: beyond any team's open conversations, within both engines' INTEGER. */
const MAX_CAPACITY = 100_000;

export function checkCapacity(value: unknown): number | null {
	if (value === null || value === undefined) return null;
	if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_CAPACITY) {
		throw new InvalidInputError(`Capacity must be a whole number of open conversations (0 to ${MAX_CAPACITY}) or empty, not ${JSON.stringify(value)}`);
	}
	return value;
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

export function checkWorkingHours(value: unknown): WorkingHours | null {
	if (value === null || value === undefined) return null;
	const hours = value as WorkingHours;
	if (typeof hours !== 'object' || typeof hours.timeZone !== 'string' || typeof hours.days !== 'object' || hours.days === null) {
		throw new InvalidInputError('Working hours need a timeZone and days ({"0".."6": {start, end}})');
	}
	if (!attempt(() => new Intl.DateTimeFormat('en-US', { timeZone: hours.timeZone })).ok) {
		throw new InvalidInputError(`Unknown time zone in working hours: ${JSON.stringify(hours.timeZone)}`);
	}
	for (const [day, span] of Object.entries(hours.days)) {
		if (!/^[0-6]$/.test(day)) throw new InvalidInputError(`Working hours day must be 0 (Sunday) to 6 (Saturday), not ${JSON.stringify(day)}`);
		if (!span || !HHMM.test(span.start) || !HHMM.test(span.end) || span.start >= span.end) {
			throw new InvalidInputError(`Working hours for day ${day} need start < end as "HH:MM", got ${JSON.stringify(span)}`);
		}
	}
	return { timeZone: hours.timeZone, days: { ...hours.days } };
}

/** Retention days: whole numbers, 0 = for ever. */
export function checkRetention(value: unknown): InboxRetention | null {
	if (value === null || value === undefined) return null;
	const retention = value as Record<string, unknown>;
	const days = (name: keyof InboxRetention): number => {
		const n = retention[name];
		if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new InvalidInputError(`Retention ${name} must be a whole number of days (0 keeps for ever), not ${JSON.stringify(n)}`);
		return n;
	};
	return { deliveredRawDays: days('deliveredRawDays'), quarantineDays: days('quarantineDays'), intakeLogDays: days('intakeLogDays') };
}
