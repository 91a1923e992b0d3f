import MailComposer from 'nodemailer/lib/mail-composer';

import { domainOf } from '../address';
import { FORWARDING_TEST_HEADER } from '../intake/pipeline';
import { LOOP_HEADER } from '../flags';
import { emailAddress, headerText } from '../outbound/validate';
import { newOutboundMessageId } from '../store/message-id';

export interface ForwardingTestInput {
	/** The team's public address the provider forwards from, e.g. support@company.com. */
	publicAddress: string;
	/** The hosted address the provider should forward to. */
	inboxAddress: string;
	token: string;
	/** Header From (the SMTP account's address usually); the public address when empty. */
	from?: string | null;
	/** Envelope sender, where bounces go (e.g. a 550 5.7.520 from Microsoft 365); the From address when empty. */
	bounceAddress?: string | null;
	deadline: Date;
	date?: Date;
}

export interface ForwardingTestMessage {
	raw: Buffer;
	envelope: { from: string; to: string[] };
	/** Without angle brackets. */
	messageId: string;
	subject: string;
}

/** The test message: the token in its own header, marked as our automatic mail so nobody auto-replies or files it. */
export async function composeForwardingTest(input: ForwardingTestInput): Promise<ForwardingTestMessage> {
	const publicAddress = emailAddress('Public address', input.publicAddress);
	const inboxAddress = emailAddress('Inbox address', input.inboxAddress);
	const from = input.from?.trim() ? emailAddress('From address', input.from) : publicAddress;
	const bounceAddress = input.bounceAddress?.trim() ? emailAddress('Bounce address', input.bounceAddress) : from;
	const token = headerText('Token', input.token);
	const messageId = newOutboundMessageId(domainOf(from)!); // a checked address has a domain
	const subject = `Forwarding check: ${publicAddress} to the hosted inbox`;
	const text = [
		`This is an automatic test sent to ${publicAddress} to check that it forwards to the hosted inbox ${inboxAddress}.`,
		'',
		`If forwarding works, the hosted inbox receives it within minutes and the check shows "verified".`,
		`If it is still here after ${input.deadline.toISOString()} and did not arrive, check the forwarding rule of ${publicAddress}:`,
		'the rule may be missing, waiting for the provider\'s confirmation, or blocked by a policy on external forwarding.',
		'',
		'You can delete this message. Nobody needs to answer it.',
	].join('\n');
	const composer = new MailComposer({
		from: { name: 'Hosted inbox forwarding check', address: from },
		to: publicAddress,
		subject,
		text,
		messageId: `<${messageId}>`,
		date: input.date ?? new Date(),
		headers: {
			[FORWARDING_TEST_HEADER]: token,
			[LOOP_HEADER]: inboxAddress,
			// Keeps vacation responders and Exchange auto-replies from answering the test.
			'Auto-Submitted': 'auto-generated',
			'X-Auto-Response-Suppress': 'All',
		},
	});
	const raw = await new Promise<Buffer>((resolve, reject) => composer.compile().build((error, message) => (error ? reject(error) : resolve(message))));
	return { raw, envelope: { from: bounceAddress, to: [publicAddress] }, messageId, subject };
}
