import type { Resource } from '../../shared/operation';
import { close } from './close';
import { get } from './get';
import { getAll } from './getAll';
import { update } from './update';

export const ticket: Resource = {
	option: { name: 'Ticket', value: 'ticket', description: 'The support ticket of a conversation' },
	operations: [get, getAll, update, close],
	defaultOperation: 'get',
};
