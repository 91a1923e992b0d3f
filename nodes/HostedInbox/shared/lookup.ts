import type { IExecuteFunctions } from 'n8n-workflow';

import { type Agent, type Inbox, type Team, type WorkingHours } from '../../../core/store/types';
import { InvalidInputError } from '../../../core/errors';
import type { Store } from '../../../core/store/roles';

/** A text parameter, trimmed. */
export function text(context: IExecuteFunctions, name: string, itemIndex: number): string {
	return String(context.getNodeParameter(name, itemIndex, '') ?? '').trim();
}

function required(value: string, what: string): string {
	if (value === '') throw new InvalidInputError(`${what} is required`);
	return value;
}

export async function requireInbox(store: Store, address: string): Promise<Inbox> {
	const inbox = await store.getInbox(required(address, 'Inbox'));
	if (!inbox) throw new InvalidInputError(`Unknown inbox "${address}": no inbox has this address or ID (a Hosted Inbox Trigger registers it when activated)`);
	return inbox;
}

export async function requireAgent(store: Store, idOrEmail: string): Promise<Agent> {
	const agent = await store.getAgent(required(idOrEmail, 'Agent'));
	if (!agent) throw new InvalidInputError(`Unknown agent "${idOrEmail}": no agent has this ID or email`);
	return agent;
}

export async function requireTeam(store: Store, idOrName: string): Promise<Team> {
	const team = await store.getTeam(required(idOrName, 'Team'));
	if (!team) throw new InvalidInputError(`Unknown team "${idOrName}": no team has this ID or name`);
	return team;
}

/** Capacity as the node shows it (0 = no limit) to the store's (null = no limit). */
export function capacityFromParameter(value: unknown): number | null {
	return value === undefined || value === null || value === '' || Number(value) === 0 ? null : Number(value);
}

/** The Working Hours JSON field: empty means none; anything else must parse (the store checks the shape). */
export function workingHoursFromParameter(value: unknown): WorkingHours | null {
	if (value === undefined || value === null || value === '') return null;
	return (typeof value === 'object' ? value : parseJson(String(value), 'Working Hours')) as WorkingHours;
}

/** A JSON object parameter (ticket properties): empty means {}. */
export function jsonObjectFromParameter(value: unknown, what: string): Record<string, unknown> {
	if (value === undefined || value === null || value === '') return {};
	const parsed: unknown = typeof value === 'string' ? parseJson(value, what) : value;
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidInputError(`${what} must be a JSON object`);
	return parsed as Record<string, unknown>;
}

function parseJson(value: string, what: string): unknown {
	let parsed: unknown;
	let problem: string | undefined;
	try {
		parsed = JSON.parse(value);
	} catch (error) {
		problem = (error as Error).message;
	}
	if (problem !== undefined) throw new InvalidInputError(`Not valid JSON in ${what}: ${problem}`);
	return parsed;
}

/** Return All / Limit, applied to a listing. */
export function limited<T>(context: IExecuteFunctions, itemIndex: number, records: T[]): T[] {
	if (context.getNodeParameter('returnAll', itemIndex, false)) return records;
	return records.slice(0, context.getNodeParameter('limit', itemIndex, 50) as number);
}

/** The Inbox filter and Return All / Limit of a listing read in the store (the limit goes to the query). */
export async function listingFilter(context: IExecuteFunctions, store: Store, itemIndex: number): Promise<{ inboxId?: string; limit?: number }> {
	const inboxRef = text(context, 'inbox', itemIndex);
	const inboxId = inboxRef ? (await requireInbox(store, inboxRef)).id : undefined;
	const limit = context.getNodeParameter('returnAll', itemIndex, false) ? undefined : (context.getNodeParameter('limit', itemIndex, 50) as number);
	return { ...(inboxId ? { inboxId } : {}), ...(limit ? { limit } : {}) };
}

/** An Owner parameter: the agent's ID (an unknown agent is an error); empty means no owner. */
export async function ownerIdFromParameter(store: Store, value: unknown): Promise<string | null> {
	const owner = String(value ?? '').trim();
	return owner ? (await requireAgent(store, owner)).id : null;
}
