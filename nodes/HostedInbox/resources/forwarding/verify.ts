import type { IDataObject } from 'n8n-workflow';

import { DEFAULT_FORWARDING_TIMEOUT_MS, verifyForwarding } from '../../../../core/forwarding/verify';
import { smtpSender } from '../../../../core/outbound/transport';
import { smtpSettingsFromCredential } from '../../../shared/smtpCredential';
import { inboxField } from '../../shared/fields';
import { text } from '../../shared/lookup';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';

export const verify: Operation = {
	option: {
		name: 'Verify Forwarding',
		value: 'verify',
		action: 'Verify forwarding',
		description:
			'Send a test message to the team\'s public address and record a waiting check; the Hosted Inbox Trigger marks it verified when the message is forwarded in',
	},
	properties: [
		{ ...inboxField, description: 'The hosted inbox the public address should forward to (its hosted address or ID)' },
		{
			displayName: 'Public Address',
			name: 'publicAddress',
			type: 'string',
			required: true,
			default: '',
			placeholder: 'support@company.com',
			description: 'The address customers write to, whose provider forwards to the hosted address',
		},
		{
			displayName: 'Timeout (Minutes)',
			name: 'timeoutMinutes',
			type: 'number',
			typeOptions: { minValue: 0.01, numberPrecision: 2 },
			// DEFAULT_FORWARDING_TIMEOUT_MS in minutes (n8n's lint wants a literal).
			default: 10,
			description: 'How long the check waits for the test message; after that it reads as failed, with the likely causes',
		},
		{
			displayName: 'Options',
			name: 'options',
			type: 'collection',
			placeholder: 'Add Option',
			default: {},
			options: [
				{
					displayName: 'From Address',
					name: 'fromAddress',
					type: 'string',
					default: '',
					placeholder: 'support@company.com',
					description: 'The From of the test message; empty means the public address. Use an address the SMTP credential may send as.',
				},
				{
					displayName: 'Bounce Address',
					name: 'bounceAddress',
					type: 'string',
					default: '',
					description:
						'Where bounces of the test go (envelope sender), e.g. a Microsoft 365 "550 5.7.520" refusal of external forwarding; empty means the From address',
				},
				{
					displayName: 'Ignore SSL Issues (Insecure)',
					name: 'allowUnauthorizedCerts',
					type: 'boolean',
					default: false,
					description: 'Whether to connect even if SSL certificate validation is not possible',
				},
			],
		},
	],
	async execute(store, itemIndex) {
		const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
		// n8n's built-in SMTP credential, read as n8n's Send Email node reads it.
		const sender = smtpSender(smtpSettingsFromCredential(await this.getCredentials('smtp', itemIndex), options.allowUnauthorizedCerts === true));
		try {
			const started = await verifyForwarding(
				{
					inbox: text(this, 'inbox', itemIndex),
					publicAddress: text(this, 'publicAddress', itemIndex),
					from: typeof options.fromAddress === 'string' ? options.fromAddress : null,
					bounceAddress: typeof options.bounceAddress === 'string' ? options.bounceAddress : null,
					timeoutMs: Number(this.getNodeParameter('timeoutMinutes', itemIndex, DEFAULT_FORWARDING_TIMEOUT_MS / 60_000)) * 60_000,
				},
				{ store, send: sender.send },
			);
			return asData(started);
		} finally {
			sender.close();
		}
	},
};
