import { randomUUID } from 'node:crypto';

import type { AgentStore } from '../roles';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from '../sql';
import { type Agent, type Availability, type Team } from '../types';
import { InvalidInputError } from '../../errors';
import { checkAvailability, checkCapacity, checkEmail, checkText, checkWorkingHours } from '../validate';

import { now } from './clock';
import { Filter } from './filter';
import { agentRow, requireAgent, requireTeam, teamRow } from './references';
import { json, one } from './rows';

export function toAgent(row: Row): Agent {
	return {
		id: String(row.id),
		email: String(row.email),
		firstName: String(row.first_name),
		fullName: String(row.full_name),
		availability: row.availability as Availability,
		workingHours: json(row.working_hours, null),
		capacity: row.capacity === null ? null : Number(row.capacity),
		active: Number(row.active) === 1,
		createdAt: String(row.created_at),
		updatedAt: String(row.updated_at),
	};
}

async function toTeam(q: SqlExecutor, row: Row): Promise<Team> {
	const members = await q.all('SELECT tm.agent_id FROM team_members tm JOIN agents a ON a.id = tm.agent_id WHERE tm.team_id = $1 ORDER BY a.created_at, a.id', [
		String(row.id),
	]);
	return { id: String(row.id), name: String(row.name), memberIds: members.map((member) => String(member.agent_id)) };
}

/** Agents and teams. */
export function agentStore(db: SqlDriver): AgentStore {
	return {
		async createAgent(input) {
			const { email, key } = checkEmail(input.email, 'agent');
			const firstName = checkText(input.firstName, 'First name');
			const fullName = checkText(input.fullName, 'Full name');
			const availability = checkAvailability(input.availability ?? 'available');
			const workingHours = checkWorkingHours(input.workingHours);
			const capacity = checkCapacity(input.capacity);
			const at = now();
			const row = await one(
				db,
				`INSERT INTO agents (id, email, email_key, first_name, full_name, availability, working_hours, capacity, active, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) ON CONFLICT (email_key) DO NOTHING RETURNING *`,
				[randomUUID(), email, key, firstName, fullName, availability, workingHours ? JSON.stringify(workingHours) : null, capacity, at],
			);
			if (!row) throw new InvalidInputError(`An agent with the email ${email} already exists`);
			return toAgent(row);
		},

		async updateAgent(idOrEmail, patch) {
			const sets: string[] = [];
			const params: SqlValue[] = [];
			const set = (column: string, value: SqlValue) => {
				params.push(value);
				sets.push(`${column} = $${params.length + 1}`);
			};
			if (patch.firstName !== undefined) set('first_name', checkText(patch.firstName, 'First name'));
			if (patch.fullName !== undefined) set('full_name', checkText(patch.fullName, 'Full name'));
			if (patch.availability !== undefined) set('availability', checkAvailability(patch.availability));
			if (patch.workingHours !== undefined) {
				const hours = checkWorkingHours(patch.workingHours);
				set('working_hours', hours ? JSON.stringify(hours) : null);
			}
			if (patch.capacity !== undefined) set('capacity', checkCapacity(patch.capacity));
			if (patch.active !== undefined) {
				if (typeof patch.active !== 'boolean') throw new InvalidInputError(`active must be true or false, not ${JSON.stringify(patch.active)}`);
				set('active', patch.active ? 1 : 0);
			}
			set('updated_at', now());
			return db.transaction(async (q) => {
				const agent = await requireAgent(q, idOrEmail);
				const row = await one(q, `UPDATE agents SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, [String(agent.id), ...params]);
				return toAgent(row!);
			});
		},

		async getAgent(idOrEmail) {
			const row = await agentRow(db, idOrEmail);
			return row ? toAgent(row) : null;
		},

		async listAgents(filter = {}) {
			const where = new Filter()
				.equals('active', filter.active === undefined ? undefined : filter.active ? 1 : 0)
				.equals('availability', filter.availability === undefined ? undefined : checkAvailability(filter.availability));
			return (await db.all(`SELECT * FROM agents${where.clause} ORDER BY created_at, id`, where.params)).map(toAgent);
		},

		async createTeam(name) {
			const teamName = checkText(name, 'Team name');
			const row = await one(db, 'INSERT INTO teams (id, name, name_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name_key) DO NOTHING RETURNING *', [
				randomUUID(),
				teamName,
				teamName.toLowerCase(),
				now(),
			]);
			if (!row) throw new InvalidInputError(`A team named "${teamName}" already exists`);
			return { id: String(row.id), name: String(row.name), memberIds: [] };
		},

		async getTeam(idOrName) {
			const row = await teamRow(db, idOrName);
			return row ? toTeam(db, row) : null;
		},

		async addTeamMember(teamIdOrName, agentIdOrEmail) {
			return db.transaction(async (q) => {
				const team = await requireTeam(q, teamIdOrName);
				const agent = await requireAgent(q, agentIdOrEmail);
				await q.run('INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [String(team.id), String(agent.id)]);
				return toTeam(q, team);
			});
		},

		async removeTeamMember(teamIdOrName, agentIdOrEmail) {
			return db.transaction(async (q) => {
				const team = await requireTeam(q, teamIdOrName);
				const agent = await requireAgent(q, agentIdOrEmail);
				await q.run('DELETE FROM team_members WHERE team_id = $1 AND agent_id = $2', [String(team.id), String(agent.id)]);
				return toTeam(q, team);
			});
		},

		async listTeams() {
			const teams = await db.all('SELECT * FROM teams ORDER BY created_at, id');
			const members = await db.all('SELECT tm.team_id, tm.agent_id FROM team_members tm JOIN agents a ON a.id = tm.agent_id ORDER BY a.created_at, a.id');
			return teams.map((row) => ({
				id: String(row.id),
				name: String(row.name),
				memberIds: members.filter((member) => member.team_id === row.id).map((member) => String(member.agent_id)),
			}));
		},
	};
}
