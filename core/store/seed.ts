import { z } from 'zod';

import { type Agent } from './types';
import { InvalidInputError } from '../errors';
import type { Store } from './roles';
import { checkAvailability, checkCapacity, checkEmail, checkWorkingHours } from './validate';

/** The `hosted-inbox store seed` file: agents, teams and contacts with owners for one inbox. */
export const seedFileSchema = z.object({
	inbox: z.string(),
	agents: z
		.array(
			z.object({
				email: z.string(),
				firstName: z.string(),
				fullName: z.string(),
				availability: z.enum(['available', 'away']).default('available'),
				capacity: z.number().int().nonnegative().nullable().optional(),
				workingHours: z.unknown().optional(),
			}),
		)
		.default([]),
	teams: z.array(z.object({ name: z.string().min(1), members: z.array(z.string()).default([]) })).default([]),
	contacts: z.array(z.object({ email: z.string(), name: z.string().nullable().optional(), owner: z.string().nullable().optional() })).default([]),
});

export type SeedFile = z.input<typeof seedFileSchema>;
export type SeedCounts = Record<'agents' | 'teams' | 'contacts', { created: number; updated: number; unchanged: number }>;

function parseSeed(data: unknown) {
	const parsed = seedFileSchema.safeParse(data);
	if (!parsed.success) {
		const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
		throw new InvalidInputError(`Seed file does not fit: ${problems.join('; ')}`);
	}
	const seed = parsed.data;
	checkEmail(seed.inbox, 'inbox');
	seed.agents.forEach((agent, i) => {
		checkEmail(agent.email, `agents.${i}`);
		checkAvailability(agent.availability);
		checkCapacity(agent.capacity);
		checkWorkingHours(agent.workingHours);
	});
	seed.contacts.forEach((contact, i) => checkEmail(contact.email, `contacts.${i}`));
	return seed;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Loads the file into the store; seeding the same file twice changes nothing. The whole file is checked
 * (emails, owners and members naming agents of the file or of the store) before anything is written.
 */
export async function seedStore(store: Store, data: unknown): Promise<SeedCounts> {
	const seed = parseSeed(data);
	const known = new Set(seed.agents.map((agent) => agent.email.trim().toLowerCase()));
	const referenced = [...seed.teams.flatMap((team) => team.members), ...seed.contacts.flatMap((contact) => (contact.owner ? [contact.owner] : []))];
	for (const email of referenced) {
		if (!known.has(email.trim().toLowerCase()) && !(await store.getAgent(email))) {
			throw new InvalidInputError(`Seed file names an agent that is neither in the file nor in the store: ${email}`);
		}
	}

	const counts: SeedCounts = {
		agents: { created: 0, updated: 0, unchanged: 0 },
		teams: { created: 0, updated: 0, unchanged: 0 },
		contacts: { created: 0, updated: 0, unchanged: 0 },
	};
	const inbox = (await store.getInbox(seed.inbox)) ?? (await store.registerInbox({ address: seed.inbox }));
	const inboxAgents = new Set((await store.listInboxAgents(inbox.id)).map((agent) => agent.id));

	for (const input of seed.agents) {
		const wanted = { firstName: input.firstName, fullName: input.fullName, availability: input.availability, capacity: input.capacity ?? null, workingHours: checkWorkingHours(input.workingHours) };
		const existing = await store.getAgent(input.email);
		let agent: Agent;
		if (!existing) {
			agent = await store.createAgent({ email: input.email, ...wanted });
			counts.agents.created++;
		} else if ((Object.keys(wanted) as Array<keyof typeof wanted>).some((key) => !same(existing[key], wanted[key]))) {
			agent = await store.updateAgent(existing.id, wanted);
			counts.agents.updated++;
		} else {
			agent = existing;
			counts.agents.unchanged++;
		}
		if (!inboxAgents.has(agent.id)) await store.addInboxAgent(inbox.id, agent.id);
	}

	for (const input of seed.teams) {
		let team = await store.getTeam(input.name);
		const isNew = !team;
		team ??= await store.createTeam(input.name);
		const before = team.memberIds.length;
		for (const member of input.members) team = await store.addTeamMember(team.id, member);
		if (isNew) counts.teams.created++;
		else if (team.memberIds.length !== before) counts.teams.updated++;
		else counts.teams.unchanged++;
	}

	for (const input of seed.contacts) {
		// An absent owner leaves the contact's owner as it is; null clears it.
		const ownerId = input.owner === undefined ? undefined : input.owner ? (await store.getAgent(input.owner))!.id : null;
		const existing = await store.findContactByEmail(inbox.id, input.email);
		if (!existing) {
			await store.createContact(inbox.id, { email: input.email, name: input.name ?? null, ownerId: ownerId ?? null });
			counts.contacts.created++;
		} else if ((ownerId !== undefined && existing.ownerId !== ownerId) || (input.name !== undefined && existing.name !== (input.name?.trim() || null))) {
			await store.updateContact(existing.id, { ...(ownerId !== undefined ? { ownerId } : {}), ...(input.name !== undefined ? { name: input.name } : {}) });
			counts.contacts.updated++;
		} else {
			counts.contacts.unchanged++;
		}
	}
	return counts;
}
