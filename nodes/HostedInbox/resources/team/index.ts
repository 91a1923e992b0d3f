import type { Resource } from '../../shared/operation';
import { addMember } from './addMember';
import { create } from './create';
import { getAll } from './getAll';
import { removeMember } from './removeMember';

export const team: Resource = {
	option: { name: 'Team', value: 'team', description: 'A group of agents that conversations can be routed to' },
	operations: [create, addMember, removeMember, getAll],
	defaultOperation: 'getAll',
};
