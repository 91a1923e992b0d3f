import type { Resource } from '../../shared/operation';
import { getAll } from './getAll';
import { redrive } from './redrive';

export const failedMessage: Resource = {
	option: {
		name: 'Failed Message',
		value: 'failedMessage',
		description: 'Messages whose workflow executions failed every attempt, kept in the spool: list them, or re-drive one once fixed',
	},
	operations: [getAll, redrive],
	defaultOperation: 'getAll',
};
