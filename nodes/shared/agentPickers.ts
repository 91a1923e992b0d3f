import type { ILoadOptionsFunctions, INodeListSearchResult, INodePropertyOptions } from 'n8n-workflow';

import { getStore } from './store';

/** Dropdown of active agents (loadOptions): the value is the agent ID. */
export async function getAgents(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const agents = await (await getStore(this)).listAgents({ active: true });
	return agents.map((agent) => ({ name: `${agent.fullName} <${agent.email}>`, value: agent.id, description: agent.availability }));
}

/** Dropdown of teams (loadOptions): the value is the team ID. */
export async function getTeams(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const teams = await (await getStore(this)).listTeams();
	return teams.map((team) => ({ name: team.name, value: team.id, description: `${team.memberIds.length} member(s)` }));
}

/** Searchable agent list (resource locator "From list" mode), filtered by name or email. */
export async function searchAgents(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	const needle = (filter ?? '').trim().toLowerCase();
	const agents = await (await getStore(this)).listAgents({ active: true });
	return {
		results: agents
			.filter((agent) => !needle || agent.email.toLowerCase().includes(needle) || agent.fullName.toLowerCase().includes(needle))
			.map((agent) => ({ name: `${agent.fullName} <${agent.email}>`, value: agent.id })),
	};
}

/** A multi-select set by expression may give an array, or one comma-separated string of IDs or emails. */
export function idList(value: unknown): string[] {
	const raw = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
	return raw.map((entry) => String(entry).trim()).filter(Boolean);
}
