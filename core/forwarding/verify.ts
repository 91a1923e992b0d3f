import type { SendRaw } from '../outbound/transport';
import { type ForwardingCheck } from '../store/types';
import { InvalidInputError } from '../errors';
import type { ForwardingCheckStore, InboxStore } from '../store/roles';
import { withoutToken } from './status';
import { composeForwardingTest } from './test-message';
import { newForwardingToken } from './token';

/** How long a check waits for its test message before it reads as failed. */
export const DEFAULT_FORWARDING_TIMEOUT_MS = 10 * 60_000;

export interface VerifyForwardingRequest {
	/** The hosted inbox (address or id) the public address should forward to. */
	inbox: string;
	/** The team's public address, e.g. support@company.com. */
	publicAddress: string;
	from?: string | null;
	bounceAddress?: string | null;
	timeoutMs?: number;
	now?: Date;
}

export interface VerifyForwardingResult {
	inbox: { id: string; address: string };
	/** As stored, waiting, without its token. */
	check: Omit<ForwardingCheck, 'token'>;
	sent: { messageId: string; subject: string; envelopeFrom: string; to: string[]; response: string };
}

/** The SMTP server did not take the test message; the check was recorded as failed with the reason. */
export class ForwardingTestNotSentError extends Error {
	constructor(message: string, readonly checkId: string) {
		super(message);
		this.name = 'ForwardingTestNotSentError';
	}
}

/**
 * Starts a check: records it as waiting (before sending, so a fast forwarder never beats the record), sends the
 * test message to the public address and returns at once. The intake completes it when the message arrives.
 */
export async function verifyForwarding(
	request: VerifyForwardingRequest,
	deps: { store: InboxStore & ForwardingCheckStore; send: SendRaw },
): Promise<VerifyForwardingResult> {
	const inbox = await deps.store.getInbox(request.inbox.trim());
	if (!inbox) throw new InvalidInputError(`Unknown inbox "${request.inbox}": no inbox has this address or ID (a Hosted Inbox Trigger registers it when activated)`);
	const timeoutMs = request.timeoutMs ?? DEFAULT_FORWARDING_TIMEOUT_MS;
	if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidInputError(`The forwarding check timeout must be a positive duration, not ${timeoutMs} ms`);
	const now = request.now ?? new Date();
	const deadline = new Date(now.getTime() + timeoutMs);
	if (request.publicAddress.trim().toLowerCase() === inbox.address.toLowerCase()) {
		throw new InvalidInputError(`The public address is the hosted address ${inbox.address} itself: nothing would be forwarded. Give the address customers write to (e.g. support@company.com)`);
	}
	const token = newForwardingToken(inbox.address);
	const message = await composeForwardingTest({
		publicAddress: request.publicAddress,
		inboxAddress: inbox.address,
		token,
		from: request.from,
		bounceAddress: request.bounceAddress,
		deadline,
		date: now,
	});
	const check = withoutToken(
		await deps.store.createForwardingCheck({ inboxId: inbox.id, publicAddress: message.envelope.to[0], token, deadline: deadline.toISOString() }),
	);
	const delivery = await deps.send(message.raw, message.envelope).catch((error: Error) => error);
	if (delivery instanceof Error) {
		await deps.store.failForwardingCheck(check.id, { sendError: delivery.message });
		throw new ForwardingTestNotSentError(`The test message to ${message.envelope.to[0]} could not be sent: ${delivery.message}. The check is recorded as failed.`, check.id);
	}
	return {
		inbox: { id: inbox.id, address: inbox.address },
		check,
		sent: { messageId: message.messageId, subject: message.subject, envelopeFrom: message.envelope.from, to: message.envelope.to, response: delivery.response },
	};
}
