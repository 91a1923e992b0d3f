import { verifyConnectedSendingDomain } from '../../../../core/sending-domain/verify';
import { dnsResolver } from '../../../shared/environment';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';

export const verify: Operation = {
	option: {
		name: 'Verify',
		value: 'verify',
		action: 'Verify a sending domain',
		description: 'Check the published DNS records; the output names each record that is missing or wrong',
	},
	properties: [
		{
			displayName: 'Domain',
			name: 'domain',
			type: 'string',
			placeholder: 'acme.com',
			required: true,
			default: '',
		},
	],
	async execute(store, itemIndex) {
		const { domain, check } = await verifyConnectedSendingDomain(store, text(this, 'domain', itemIndex), dnsResolver());
		return { ...asData(domain), summary: check.summary, records: check.records.map(asData) };
	},
};
