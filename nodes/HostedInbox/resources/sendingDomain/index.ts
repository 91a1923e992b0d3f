import type { Resource } from '../../shared/operation';
import { connect } from './connect';
import { verify } from './verify';

export const sendingDomain: Resource = {
	option: { name: 'Sending Domain', value: 'sendingDomain', description: 'A domain for custom from-addresses, DKIM-signed' },
	operations: [connect, verify],
	defaultOperation: 'connect',
};
