import type { Resource } from '../../shared/operation';
import { create } from './create';
import { erase } from './erase';
import { findByEmail } from './findByEmail';
import { get } from './get';
import { update } from './update';

export const contact: Resource = {
	option: { name: 'Contact', value: 'contact', description: 'A person who writes to an inbox, with an optional owner' },
	operations: [get, findByEmail, create, update, erase],
	defaultOperation: 'get',
};
