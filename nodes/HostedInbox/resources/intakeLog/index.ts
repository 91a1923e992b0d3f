import type { Resource } from '../../shared/operation';
import { getConfirmations } from './getConfirmations';
import { getRejected } from './getRejected';

export const intakeLog: Resource = {
	option: { name: 'Intake Log', value: 'intakeLog', description: 'What the intake refused, quarantined, or received as forwarding confirmations' },
	operations: [getRejected, getConfirmations],
	defaultOperation: 'getRejected',
};
