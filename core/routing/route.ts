import { createHash } from 'node:crypto';
import type { Assignment } from '../item';
import { type Agent, type Conversation, type Team } from '../store/types';
import { InvalidInputError } from '../errors';
import type { Store } from '../store/roles';
import { checkAvailability } from './availability';

export type AssignTo = 'specificUsersAndTeams' | 'contactOwner';
export type Distribution = 'roundRobin' | 'balanced';
export type OwnerFallback = 'leaveUnassigned' | 'specificUsersAndTeams';

/** The "Automatic assignment" settings of the inbox, with the documented defaults. */
export interface RoutingOptions {
	autoAssign: boolean;
	assignTo: AssignTo;
	/** Agents by ID or email. */
	users: string[];
	/** Teams by ID or name. */
	teams: string[];
	distribution: Distribution;
	onlyAvailable: boolean;
	ownerFallback: OwnerFallback;
}

export const DEFAULT_ROUTING_OPTIONS: RoutingOptions = {
	autoAssign: false,
	assignTo: 'specificUsersAndTeams',
	users: [],
	teams: [],
	distribution: 'roundRobin',
	onlyAvailable: true,
	ownerFallback: 'leaveUnassigned',
};

/** The routing decision as plain data, before it is written to the store. */
export interface RoutingDecision {
	assignee: Agent | null;
	team: Team | null;
	rule: string;
	reason: string;
}

export interface RouteResult {
	assignment: Assignment;
	conversation: Conversation;
}

/** A routing setting names an agent or team the store does not know: the inbox is misconfigured. */
export class RoutingConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'RoutingConfigError';
	}
}

interface Context {
	store: Store;
	conversation: Conversation;
	members: Map<string, Agent>;
	now: Date;
}

function toAssignment(decision: RoutingDecision): Assignment {
	return {
		assignee: decision.assignee ? { id: decision.assignee.id, email: decision.assignee.email, fullName: decision.assignee.fullName } : null,
		team: decision.team ? { id: decision.team.id, name: decision.team.name } : null,
		rule: decision.rule,
		reason: decision.reason,
	};
}

/** Why an agent cannot take the conversation at all (whatever the availability rule says), or null. */
function ineligible(ctx: Context, agent: Agent): string | null {
	if (!agent.active) return 'is deactivated';
	if (!ctx.members.has(agent.id)) return 'is not a member of this inbox';
	return null;
}

async function openCounts(ctx: Context, agents: Agent[]): Promise<Record<string, number>> {
	return agents.length ? await ctx.store.countOpenConversations(agents.map((a) => a.id)) : {};
}

async function routeToContactOwner(ctx: Context, options: RoutingOptions): Promise<RoutingDecision> {
	const contact = await ctx.store.getContact(ctx.conversation.contactId);
	let problem: string;
	if (!contact?.ownerId) {
		problem = `contact ${contact?.email ?? ctx.conversation.contactId} has no owner`;
	} else {
		const owner = await ctx.store.getAgent(contact.ownerId);
		if (!owner) {
			problem = `contact owner ${contact.ownerId} no longer exists`;
		} else {
			const why = ineligible(ctx, owner) ?? (options.onlyAvailable ? availabilityProblem(ctx, owner, await openCounts(ctx, [owner])) : null);
			if (!why) {
				return { assignee: owner, team: null, rule: 'contact-owner', reason: `assigned to contact owner ${owner.email}` };
			}
			problem = `contact owner ${owner.email} ${why}`;
		}
	}
	if (options.ownerFallback === 'leaveUnassigned') {
		return { assignee: null, team: null, rule: 'contact-owner', reason: `${problem}; left unassigned` };
	}
	const fallback = await routeToSpecific(ctx, options);
	return { ...fallback, rule: `contact-owner-fallback-${fallback.rule}`, reason: `${problem}; fell back to specific users and teams: ${fallback.reason}` };
}

function availabilityProblem(ctx: Context, agent: Agent, counts: Record<string, number>): string | null {
	const check = checkAvailability(agent, ctx.now, counts[agent.id] ?? 0);
	return check.available ? null : check.why;
}

/** The selected agents plus the members of the selected teams, in selection order, each with the team it came through. */
async function candidates(ctx: Context, options: RoutingOptions): Promise<Array<{ agent: Agent; team: Team | null }>> {
	const out = new Map<string, { agent: Agent; team: Team | null }>();
	const teams: Team[] = [];
	for (const ref of options.teams) {
		const team = await ctx.store.getTeam(ref);
		if (!team) throw new RoutingConfigError(`Team "${ref}" is not in the store; check the teams chosen under "Assign to"`);
		teams.push(team);
	}
	const teamOf = (agentId: string) => teams.find((t) => t.memberIds.includes(agentId)) ?? null;
	for (const ref of options.users) {
		const agent = await ctx.store.getAgent(ref);
		if (!agent) throw new RoutingConfigError(`Agent "${ref}" is not in the store; check the users chosen under "Assign to"`);
		if (!out.has(agent.id)) out.set(agent.id, { agent, team: teamOf(agent.id) });
	}
	for (const team of teams) {
		for (const memberId of team.memberIds) {
			if (out.has(memberId)) continue;
			const agent = await ctx.store.getAgent(memberId);
			if (agent) out.set(agent.id, { agent, team });
		}
	}
	return [...out.values()];
}

async function routeToSpecific(ctx: Context, options: RoutingOptions): Promise<RoutingDecision> {
	const rule = options.distribution === 'balanced' ? 'balanced' : 'round-robin';
	const pool = await candidates(ctx, options);
	if (!pool.length) return { assignee: null, team: null, rule, reason: 'no users or teams are selected; left unassigned' };

	const excluded: string[] = [];
	let eligible = pool.filter(({ agent }) => {
		const why = ineligible(ctx, agent);
		if (why) excluded.push(`${agent.email} ${why}`);
		return !why;
	});
	const counts = options.onlyAvailable || options.distribution === 'balanced' ? await openCounts(ctx, eligible.map((c) => c.agent)) : {};
	if (options.onlyAvailable) {
		eligible = eligible.filter(({ agent }) => {
			const why = availabilityProblem(ctx, agent, counts);
			if (why) excluded.push(`${agent.email} ${why}`);
			return !why;
		});
	}
	const notes = excluded.length ? ` (${excluded.join('; ')})` : '';
	const everyone = pool.map((c) => c.agent.email).join(', ');
	if (!eligible.length) {
		const nobody = options.onlyAvailable ? 'no one is available' : 'no one can take it';
		return { assignee: null, team: null, rule, reason: `${nobody} among ${everyone}${notes}; left unassigned` };
	}

	// The pool key names the whole selection, so availability changes do not restart the rotation.
	const poolKey = `${ctx.conversation.inboxId}:${createHash('sha256').update(pool.map((c) => c.agent.id).sort().join(',')).digest('hex').slice(0, 32)}`;
	let picked = eligible;
	let how = `round robin among ${eligible.length} of ${pool.length}`;
	if (options.distribution === 'balanced') {
		const fewest = Math.min(...eligible.map((c) => counts[c.agent.id] ?? 0));
		picked = eligible.filter((c) => (counts[c.agent.id] ?? 0) === fewest);
		how = `fewest open conversations (${fewest}) among ${eligible.length} of ${pool.length}`;
	}
	const id = picked.length === 1 ? picked[0].agent.id : await ctx.store.pickNextAgent(`${rule}:${poolKey}`, picked.map((c) => c.agent.id));
	const chosen = picked.find((c) => c.agent.id === id);
	if (!chosen) return { assignee: null, team: null, rule, reason: `no agent could be picked among ${everyone}${notes}; left unassigned` };
	return { assignee: chosen.agent, team: chosen.team, rule, reason: `${how}${notes}; assigned to ${chosen.agent.email}` };
}

/** Decides the assignment of a conversation from the settings and the store, without writing it. */
export async function decideAssignment(ctx: Context, options: RoutingOptions): Promise<RoutingDecision> {
	if (!options.autoAssign) return { assignee: null, team: null, rule: 'off', reason: 'automatic assignment is off; left unassigned' };
	return options.assignTo === 'contactOwner' ? routeToContactOwner(ctx, options) : routeToSpecific(ctx, options);
}

/**
 * Routes one conversation and writes the result. Sticky: an assignee who is still active and in the inbox
 * is kept (a reply, or a replay whose earlier run already assigned); a deactivated or removed one is routed afresh.
 * Idempotent: a conversation assigned meanwhile by a concurrent run keeps that assignment.
 */
export async function routeConversation(
	store: Store,
	conversationId: string,
	options: Partial<RoutingOptions> = {},
	now: Date = new Date(),
): Promise<RouteResult> {
	const settings = { ...DEFAULT_ROUTING_OPTIONS, ...options };
	const conversation = await store.getConversation(conversationId);
	if (!conversation) throw new InvalidInputError(`Conversation ${conversationId} is not in the store`);
	const members = new Map((await store.listInboxAgents(conversation.inboxId)).map((a) => [a.id, a]));
	const ctx: Context = { store, conversation, members, now };

	let stale = '';
	if (conversation.assigneeId) {
		const current = await store.getAgent(conversation.assigneeId);
		const why = current ? ineligible(ctx, current) : 'no longer exists';
		if (current && !why) {
			const team = conversation.teamId ? await store.getTeam(conversation.teamId) : null;
			return { conversation, assignment: toAssignment({ assignee: current, team, rule: 'sticky', reason: `already assigned to ${current.email}; kept` }) };
		}
		stale = `assignee ${current?.email ?? conversation.assigneeId} ${why}; routed afresh: `;
	}

	let decision = await decideAssignment(ctx, settings);
	// Only available agents: the capacity is checked again where the assignment is written, so concurrent routers
	// never overfill an agent; one filled meanwhile is left out of the next decision (each reads the counts anew).
	const replacing = stale ? conversation.assigneeId : null;
	for (let tries = 1; ; tries++) {
		const reason = stale + decision.reason;
		if (!decision.assignee) {
			// Assigned meanwhile by a concurrent router while this one looked again: that assignment stands.
			const now = tries > 1 ? await store.getConversation(conversation.id) : conversation;
			if (now?.assigneeId && now.assigneeId !== replacing) return keptAssignment(store, now);
			if (!replacing) return { conversation, assignment: toAssignment(decision) };
			// Clearing a stale assignee too, so the conversation shows up as unassigned.
			const updated = await store.assignConversation(conversation.id, { assigneeId: null, teamId: null, rule: decision.rule, reason });
			return { conversation: updated, assignment: toAssignment({ ...decision, reason }) };
		}
		const capacity = settings.onlyAvailable ? decision.assignee.capacity : null;
		const { conversation: updated, assigned, full } = await store.assignConversationIfUnassigned(conversation.id, {
			assigneeId: decision.assignee.id,
			teamId: decision.team?.id ?? null,
			rule: decision.rule,
			reason,
			capacity,
			replacing,
		});
		if (assigned) return { conversation: updated, assignment: toAssignment({ ...decision, reason }) };
		if (!full) return keptAssignment(store, updated);
		const filled = `${decision.assignee.email} reached capacity (${capacity}) meanwhile`;
		if (tries === MAX_ROUTING_TRIES) {
			decision = { assignee: null, team: null, rule: decision.rule, reason: `${filled}; left unassigned after ${tries} tries` };
			continue;
		}
		const next = await decideAssignment(ctx, settings);
		decision = { ...next, reason: `${filled}; ${next.reason}` };
	}
}

/** How often a decision is made again when its agent filled up meanwhile. */
const MAX_ROUTING_TRIES = 3;

/** A conversation a concurrent run assigned meanwhile keeps that assignment. */
async function keptAssignment(store: Store, updated: Conversation): Promise<RouteResult> {
	const winner = updated.assigneeId ? await store.getAgent(updated.assigneeId) : null;
	const team = updated.teamId ? await store.getTeam(updated.teamId) : null;
	return {
		conversation: updated,
		assignment: toAssignment({ assignee: winner, team, rule: 'sticky', reason: `assigned meanwhile to ${winner?.email ?? updated.assigneeId}; kept` }),
	};
}
