import type { Resource } from '../../shared/operation';
import { assign } from './assign';
import { close } from './close';
import { get } from './get';
import { getAll } from './getAll';
import { reopen } from './reopen';

export const conversation: Resource = {
	option: { name: 'Conversation', value: 'conversation', description: 'A thread of messages with a contact' },
	operations: [get, getAll, close, reopen, assign],
	defaultOperation: 'get',
};
