import type { Resource } from '../../shared/operation';
import { addAgent } from './addAgent';
import { get } from './get';
import { getAll } from './getAll';
import { getHealth } from './getHealth';
import { removeAgent } from './removeAgent';

export const inbox: Resource = {
	option: { name: 'Inbox', value: 'inbox', description: 'A hosted address and the agents who work it' },
	operations: [get, getAll, getHealth, addAgent, removeAgent],
	defaultOperation: 'get',
};
