import type { IntakeLogKind } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { intakeFilters, listIntake } from './list';

export const getRejected: Operation = {
	option: {
		name: 'Get Rejected',
		value: 'getRejected',
		action: 'Get rejected messages',
		description: 'List rejected (and optionally quarantined or deferred) messages with the checks that failed, newest first',
	},
	properties: [
		...intakeFilters,
		{
			displayName: 'Include',
			name: 'kinds',
			type: 'multiOptions',
			options: [
				{ name: 'Deferred', value: 'deferred', description: 'Answered 451: the sender retries later' },
				{ name: 'Quarantined', value: 'quarantined', description: 'Accepted but kept off the main output' },
				{ name: 'Rejected', value: 'rejected', description: 'Refused with a 5xx reply' },
			],
			default: ['rejected', 'quarantined'],
		},
	],
	async execute(store, itemIndex) {
		const kinds = this.getNodeParameter('kinds', itemIndex, ['rejected']) as IntakeLogKind[];
		return (await listIntake(this, store, itemIndex, kinds.length ? kinds : ['rejected'])).map(asData);
	},
};
