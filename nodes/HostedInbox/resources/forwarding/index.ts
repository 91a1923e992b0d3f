import type { Resource } from '../../shared/operation';
import { getStatus } from './getStatus';
import { verify } from './verify';

export const forwarding: Resource = {
	option: { name: 'Forwarding', value: 'forwarding', description: 'Check that the team\'s public address really forwards to the hosted inbox' },
	operations: [verify, getStatus],
	defaultOperation: 'getStatus',
};
