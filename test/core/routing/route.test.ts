import { resolveOriginalSender } from '../../../core/conversation/resolve';
import { insideWorkingHours, checkAvailability } from '../../../core/routing/availability';
import { routeConversation, RoutingConfigError, type RoutingOptions } from '../../../core/routing/route';
import type { Agent, Inbox, WorkingHours } from '../../../core/store/types';
import type { Store } from '../../../core/store/roles';
import { describeEachStore } from '../../support/stores';
import { intakeItem } from '../../support/items';

// Tuesday 2025-03-04 10:30 in Madrid (UTC+1).
const TUESDAY_MORNING = new Date('2025-03-04T09:30:00Z');
const OFFICE: WorkingHours = {
	timeZone: 'Europe/Madrid',
	days: { '1': { start: '09:00', end: '17:00' }, '2': { start: '09:00', end: '17:00' } },
};

describe('working hours', () => {
	it('reads the time in the agent time zone', () => {
		expect(insideWorkingHours(OFFICE, TUESDAY_MORNING).inside).toBe(true);
		// 16:30 UTC is 17:30 in Madrid: after hours, though still inside 09-17 in UTC terms.
		expect(insideWorkingHours(OFFICE, new Date('2025-03-04T16:30:00Z'))).toEqual({ inside: false, local: 'Tue 17:30' });
		expect(insideWorkingHours({ ...OFFICE, timeZone: 'America/New_York' }, TUESDAY_MORNING).inside).toBe(false);
		// Wednesday has no hours.
		expect(insideWorkingHours(OFFICE, new Date('2025-03-05T09:30:00Z')).inside).toBe(false);
	});

	it('runs a night shift past midnight into the next day', () => {
		const night: WorkingHours = { timeZone: 'UTC', days: { '2': { start: '22:00', end: '06:00' } } };
		expect(insideWorkingHours(night, new Date('2025-03-04T23:00:00Z')).inside).toBe(true);
		expect(insideWorkingHours(night, new Date('2025-03-05T05:59:00Z')).inside).toBe(true);
		expect(insideWorkingHours(night, new Date('2025-03-05T06:00:00Z')).inside).toBe(false);
		expect(insideWorkingHours(night, new Date('2025-03-04T21:59:00Z')).inside).toBe(false);
	});

	it('says why an agent is not available', () => {
		const agent = { active: true, availability: 'available', workingHours: null, capacity: 2 } as Agent;
		expect(checkAvailability(agent, TUESDAY_MORNING, 1)).toEqual({ available: true, why: 'is available' });
		expect(checkAvailability(agent, TUESDAY_MORNING, 2).why).toBe('is at capacity (2 open, capacity 2)');
		expect(checkAvailability({ ...agent, availability: 'away' }, TUESDAY_MORNING, 0).why).toBe('is away');
		expect(checkAvailability({ ...agent, active: false }, TUESDAY_MORNING, 0).why).toBe('is deactivated');
	});
});

describeEachStore('routeConversation', (getStore) => {
	let n = 0;
	/** A fresh inbox with its own agents, so tests sharing the store do not see each other's data. */
	async function setup(names: string[], extra: Partial<Record<string, Partial<Agent>>> = {}) {
		const store: Store = getStore();
		n += 1;
		const inbox: Inbox = await store.registerInbox({ address: `route${n}@inbox.hosted.test` });
		const agents: Record<string, Agent> = {};
		for (const name of names) {
			let agent = await store.createAgent({ email: `${name}${n}@company.test`, firstName: name, fullName: `${name} Agent` });
			if (extra[name]) agent = await store.updateAgent(agent.id, extra[name]!);
			await store.addInboxAgent(inbox.id, agent.id);
			agents[name] = agent;
		}
		const conversation = async (from = `customer${Math.random()}@example.test`, ownerId: string | null = null) => {
			const outcome = await resolveOriginalSender(store, intakeItem({ inbox: inbox.address, from }));
			if (outcome.status !== 'resolved') throw new Error('not resolved');
			if (ownerId) await store.updateContact(outcome.part.contact.id, { ownerId });
			return outcome.part.conversation.id;
		};
		const route = (id: string, options: Partial<RoutingOptions>, now = TUESDAY_MORNING) => routeConversation(store, id, options, now);
		return { store, inbox, agents, conversation, route };
	}

	it('leaves conversations unassigned by default (automatic assignment off)', async () => {
		const { agents, conversation, route } = await setup(['ana']);
		const { assignment, conversation: stored } = await route(await conversation(), { users: [agents.ana.id] });
		expect(assignment).toEqual({ assignee: null, team: null, rule: 'off', reason: 'automatic assignment is off; left unassigned' });
		expect(stored.assigneeId).toBeNull();
	});

	it('never fills an agent past capacity when conversations are routed at once, each way of choosing; the others stay unassigned and say why', async () => {
		for (const distribution of ['roundRobin', 'balanced'] as const) {
			const { agents, conversation, route, store } = await setup(['ana', 'bea'], { ana: { capacity: 1 }, bea: { capacity: 2 } });
			const ids = await Promise.all(Array.from({ length: 6 }, () => conversation()));
			const results = await Promise.all(ids.map((id) => route(id, { autoAssign: true, users: [agents.ana.id, agents.bea.id], distribution })));
			expect(await store.countOpenConversations([agents.ana.id, agents.bea.id])).toEqual({ [agents.ana.id]: 1, [agents.bea.id]: 2 });
			const unassigned = results.filter((r) => !r.assignment.assignee);
			expect(unassigned).toHaveLength(3);
			for (const { assignment, conversation: stored } of unassigned) {
				expect(stored.assigneeId).toBeNull();
				expect(assignment.reason).toMatch(/capacity|no one is available/);
			}
		}
	});

	it('reports the assignment a concurrent run of the same conversation made, at capacity less one', async () => {
		const { agents, conversation, route, store } = await setup(['ana'], { ana: { capacity: 1 } });
		const id = await conversation();
		const both = await Promise.all([route(id, { autoAssign: true, users: [agents.ana.id] }), route(id, { autoAssign: true, users: [agents.ana.id] })]);
		expect(both.map((r) => [r.assignment.assignee?.id, r.conversation.assigneeId])).toEqual([
			[agents.ana.id, agents.ana.id],
			[agents.ana.id, agents.ana.id],
		]);
		expect((await store.getConversation(id))?.assigneeId).toBe(agents.ana.id);
	});

	it('routes the conversations of a deactivated assignee afresh within the new agent\'s capacity, clearing the rest', async () => {
		const { agents, conversation, route, store } = await setup(['ana', 'bob'], { ana: { capacity: 1 } });
		const ids = await Promise.all(Array.from({ length: 5 }, () => conversation()));
		for (const id of ids) await store.assignConversation(id, { assigneeId: agents.bob.id, teamId: null, rule: 'manual', reason: 'by hand' });
		await store.updateAgent(agents.bob.id, { active: false });
		const results = await Promise.all(ids.map((id) => route(id, { autoAssign: true, users: [agents.ana.id] })));
		expect((await store.countOpenConversations([agents.ana.id]))[agents.ana.id]).toBe(1);
		expect(results.filter((r) => r.assignment.assignee?.id === agents.ana.id)).toHaveLength(1);
		for (const id of ids) expect([agents.ana.id, null]).toContain((await store.getConversation(id))?.assigneeId);
	});

	describe('contact owner', () => {
		const owner: Partial<RoutingOptions> = { autoAssign: true, assignTo: 'contactOwner' };

		it('assigns the available owner', async () => {
			const { agents, conversation, route, store } = await setup(['ana']);
			const id = await conversation(undefined, agents.ana.id);
			const { assignment } = await route(id, owner);
			expect(assignment.assignee?.email).toBe(agents.ana.email);
			expect(assignment.rule).toBe('contact-owner');
			expect((await store.getConversation(id))?.assigneeId).toBe(agents.ana.id);
			expect((await store.listAssignmentLog(id)).map((e) => e.reason)).toEqual([`assigned to contact owner ${agents.ana.email}`]);
		});

		it('leaves it unassigned when the owner is away, and says so', async () => {
			const { agents, conversation, route } = await setup(['ana'], { ana: { availability: 'away' } });
			const { assignment } = await route(await conversation(undefined, agents.ana.id), owner);
			expect(assignment.assignee).toBeNull();
			expect(assignment.reason).toBe(`contact owner ${agents.ana.email} is away; left unassigned`);
		});

		it('leaves it unassigned outside the owner working hours', async () => {
			const { agents, conversation, route } = await setup(['ana'], { ana: { workingHours: OFFICE } });
			const id = await conversation(undefined, agents.ana.id);
			const evening = await route(id, owner, new Date('2025-03-04T19:15:00Z'));
			expect(evening.assignment.reason).toBe(`contact owner ${agents.ana.email} is outside working hours (Tue 20:15 Europe/Madrid); left unassigned`);
			// The same conversation routed again in the morning gets the owner.
			expect((await route(id, owner)).assignment.assignee?.id).toBe(agents.ana.id);
		});

		it('assigns an away owner when "only available" is off', async () => {
			const { agents, conversation, route } = await setup(['ana'], { ana: { availability: 'away' } });
			const { assignment } = await route(await conversation(undefined, agents.ana.id), { ...owner, onlyAvailable: false });
			expect(assignment.assignee?.id).toBe(agents.ana.id);
		});

		it('leaves it unassigned when the contact has no owner', async () => {
			const { conversation, route } = await setup(['ana']);
			const { assignment } = await route(await conversation('ownerless@example.test'), owner);
			expect(assignment.reason).toMatch(/^contact ownerless@example\.test has no owner; left unassigned$/);
		});

		it('falls back to specific users and teams when set to', async () => {
			const { agents, conversation, route } = await setup(['ana', 'bea'], { ana: { availability: 'away' } });
			const { assignment } = await route(await conversation(undefined, agents.ana.id), { ...owner, ownerFallback: 'specificUsersAndTeams', users: [agents.bea.email] });
			expect(assignment.assignee?.id).toBe(agents.bea.id);
			expect(assignment.rule).toBe('contact-owner-fallback-round-robin');
			expect(assignment.reason).toBe(`contact owner ${agents.ana.email} is away; fell back to specific users and teams: round robin among 1 of 1; assigned to ${agents.bea.email}`);
		});

		it('does not assign an owner who is not a member of the inbox', async () => {
			const { store, conversation, route } = await setup([]);
			const outsider = await store.createAgent({ email: `outsider${n}@company.test`, firstName: 'Out', fullName: 'Out Sider' });
			const { assignment } = await route(await conversation(undefined, outsider.id), owner);
			expect(assignment.reason).toBe(`contact owner ${outsider.email} is not a member of this inbox; left unassigned`);
		});
	});

	describe('specific users and teams', () => {
		it('round robin over 3 agents of whom 1 is away: the away one never gets one, the other two alternate', async () => {
			const { agents, conversation, route } = await setup(['ana', 'bea', 'cai'], { bea: { availability: 'away' } });
			const options: Partial<RoutingOptions> = { autoAssign: true, users: [agents.ana.id, agents.bea.email, agents.cai.id] };
			const picks: string[] = [];
			for (let i = 0; i < 6; i++) {
				const { assignment } = await route(await conversation(), options);
				picks.push(assignment.assignee!.email);
				expect(assignment.reason).toMatch(new RegExp(`^round robin among 2 of 3 \\(${agents.bea.email} is away\\); assigned to `));
			}
			expect(picks).not.toContain(agents.bea.email);
			for (let i = 1; i < picks.length; i++) expect(picks[i]).not.toBe(picks[i - 1]);
			expect(picks.filter((p) => p === agents.ana.email)).toHaveLength(3);
		});

		it('leaves it unassigned when everyone is away, naming each', async () => {
			const { agents, conversation, route } = await setup(['ana', 'bea'], { ana: { availability: 'away' }, bea: { availability: 'away' } });
			const { assignment } = await route(await conversation(), { autoAssign: true, users: [agents.ana.id, agents.bea.id] });
			expect(assignment.assignee).toBeNull();
			expect(assignment.reason).toBe(
				`no one is available among ${agents.ana.email}, ${agents.bea.email} (${agents.ana.email} is away; ${agents.bea.email} is away); left unassigned`,
			);
		});

		it('skips an agent at capacity', async () => {
			const { agents, conversation, route } = await setup(['ana', 'bea'], { ana: { capacity: 1 } });
			const options: Partial<RoutingOptions> = { autoAssign: true, users: [agents.ana.id] };
			expect((await route(await conversation(), options)).assignment.assignee?.id).toBe(agents.ana.id);
			const full = await route(await conversation(), options);
			expect(full.assignment.assignee).toBeNull();
			expect(full.assignment.reason).toContain(`${agents.ana.email} is at capacity (1 open, capacity 1)`);
			const withBea = await route(await conversation(), { ...options, users: [agents.ana.id, agents.bea.id] });
			expect(withBea.assignment.assignee?.id).toBe(agents.bea.id);
		});

		it('balanced gives the agent with the fewest open conversations', async () => {
			const { agents, conversation, route } = await setup(['ana', 'bea']);
			await route(await conversation(), { autoAssign: true, users: [agents.ana.id] });
			await route(await conversation(), { autoAssign: true, users: [agents.ana.id] });
			const balanced: Partial<RoutingOptions> = { autoAssign: true, users: [agents.ana.id, agents.bea.id], distribution: 'balanced' };
			const first = await route(await conversation(), balanced);
			expect(first.assignment).toMatchObject({ rule: 'balanced', assignee: { id: agents.bea.id } });
			expect(first.assignment.reason).toBe(`fewest open conversations (0) among 2 of 2; assigned to ${agents.bea.email}`);
			expect((await route(await conversation(), balanced)).assignment.assignee?.id).toBe(agents.bea.id);
			// 2 each now: a tie, broken by turns.
			const ties = [(await route(await conversation(), balanced)).assignment.assignee?.id, (await route(await conversation(), balanced)).assignment.assignee?.id];
			expect(ties.sort()).toEqual([agents.ana.id, agents.bea.id].sort());
		});

		it('assigns through a team and names the team', async () => {
			const { store, agents, conversation, route } = await setup(['ana', 'bea']);
			const team = await store.createTeam(`Billing ${n}`);
			await store.addTeamMember(team.id, agents.bea.email);
			const { assignment, conversation: stored } = await route(await conversation(), { autoAssign: true, teams: [team.name] });
			expect(assignment.assignee?.id).toBe(agents.bea.id);
			expect(assignment.team).toEqual({ id: team.id, name: team.name });
			expect(stored.teamId).toBe(team.id);
		});

		it('rejects an unknown agent or team with a clear error', async () => {
			const { conversation, route } = await setup([]);
			const id = await conversation();
			await expect(route(id, { autoAssign: true, users: ['nobody@company.test'] })).rejects.toThrow(new RoutingConfigError('Agent "nobody@company.test" is not in the store; check the users chosen under "Assign to"'));
			await expect(route(id, { autoAssign: true, teams: ['Nope'] })).rejects.toThrow(/Team "Nope" is not in the store/);
		});
	});

	describe('replies and replays', () => {
		it('keeps the assignee on a reply even when away now (sticky)', async () => {
			const { store, agents, conversation, route } = await setup(['ana', 'bea']);
			const options: Partial<RoutingOptions> = { autoAssign: true, users: [agents.ana.id, agents.bea.id] };
			const id = await conversation();
			const first = await route(id, options);
			await store.updateAgent(first.assignment.assignee!.id, { availability: 'away' });
			const again = await route(id, options);
			expect(again.assignment).toMatchObject({ rule: 'sticky', assignee: { id: first.assignment.assignee!.id }, reason: `already assigned to ${first.assignment.assignee!.email}; kept` });
			expect(await store.listAssignmentLog(id)).toHaveLength(1);
		});

		it('routes afresh when the assignee was deactivated or removed from the inbox', async () => {
			const { store, inbox, agents, conversation, route } = await setup(['ana', 'bea']);
			const id = await conversation();
			await route(id, { autoAssign: true, users: [agents.ana.id] });
			await store.updateAgent(agents.ana.id, { active: false });
			const moved = await route(id, { autoAssign: true, users: [agents.ana.id, agents.bea.id] });
			expect(moved.assignment.assignee?.id).toBe(agents.bea.id);
			expect(moved.assignment.reason).toMatch(new RegExp(`^assignee ${agents.ana.email} is deactivated; routed afresh: `));

			await store.removeInboxAgent(inbox.id, agents.bea.id);
			const cleared = await route(id, { autoAssign: true, users: [agents.bea.id] });
			expect(cleared.assignment.assignee).toBeNull();
			expect(cleared.assignment.reason).toBe(
				`assignee ${agents.bea.email} is not a member of this inbox; routed afresh: no one is available among ${agents.bea.email} (${agents.bea.email} is not a member of this inbox); left unassigned`,
			);
			expect((await store.getConversation(id))?.assigneeId).toBeNull();
		});

		it('routing the same conversation twice (a replay) assigns once', async () => {
			const { store, agents, conversation, route } = await setup(['ana', 'bea']);
			const options: Partial<RoutingOptions> = { autoAssign: true, users: [agents.ana.id, agents.bea.id] };
			const id = await conversation();
			const [a, b] = await Promise.all([route(id, options), route(id, options)]);
			expect(a.conversation.assigneeId).toBe(b.conversation.assigneeId);
			expect(await store.listAssignmentLog(id)).toHaveLength(1);
		});
	});
});
