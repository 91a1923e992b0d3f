import { environmentResolver } from '../../../../core/dns';
import { checkedDomain } from '../../../../core/sending-domain/records';
import { verifySendingDomain } from '../../../../core/sending-domain/verify';
import { StoreInputError } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { text } from '../../shared/lookup';
import { sendingDomainInput } from './connect';

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
		const domain = await sendingDomainInput(() => checkedDomain(text(this, 'domain', itemIndex)));
		const connected = await store.getSendingDomain(domain);
		if (!connected) throw new StoreInputError(`${domain} is not a connected sending domain: run Sending Domain > Connect first`);
		const spfMechanism = typeof connected.lastCheck?.spfMechanism === 'string' ? connected.lastCheck.spfMechanism : null;
		const check = await verifySendingDomain({ domain, selector: connected.selector, publicKey: connected.publicKey, spfMechanism, resolver: environmentResolver() });
		const saved = await store.setSendingDomainVerified(domain, check.verified, { ...check, spfMechanism });
		return { ...asData(saved), summary: check.summary, records: check.records.map(asData) };
	},
};
