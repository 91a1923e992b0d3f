import type { Resource } from '../../shared/operation';
import { create } from './create';
import { deactivate } from './deactivate';
import { get } from './get';
import { getAll } from './getAll';
import { setAvailability } from './setAvailability';
import { syncWorkingHours } from './syncWorkingHours';
import { update } from './update';

export const agent: Resource = {
	option: { name: 'Agent', value: 'agent', description: 'A user who answers conversations' },
	operations: [create, update, get, getAll, setAvailability, syncWorkingHours, deactivate],
	defaultOperation: 'get',
};
