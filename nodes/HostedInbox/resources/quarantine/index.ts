import type { Resource } from '../../shared/operation';
import { deleteMessage } from './delete';
import { get } from './get';
import { getAll } from './getAll';
import { release } from './release';

export const quarantine: Resource = {
	option: { name: 'Quarantine', value: 'quarantine', description: 'Messages held for review: list them, release one to the trigger, or delete it' },
	operations: [getAll, get, release, deleteMessage],
	defaultOperation: 'getAll',
};
