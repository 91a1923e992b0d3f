import type { ParsedMail } from 'mailparser';

import type { ForwardingTestOutcome, IntakeResult } from '../intake/types';
import type { Store } from '../store/types';
import { forwardingEvidence } from './evidence';
import { tokenBelongsTo } from './token';

export type ForwardingCheckStore = Pick<Store, 'completeForwardingCheck' | 'latestForwardingChecks' | 'logIntake'>;

/** One message as an intake door (SMTP listener, IMAP poller) saw it. */
export interface ReceivedTest {
	result: IntakeResult;
	parsed: ParsedMail | null;
	receivedAt: string;
}

/**
 * A forwarding test that reached the inbox completes its check as verified, with the path it took as evidence.
 * Called by both intake doors before they log and emit, so the outcome travels in `verification.check` to the
 * intake log and the Forwarding confirmation output. A wrong, foreign, used or late token completes nothing.
 * Returns null for any other kind of message.
 */
export async function settleForwardingTest(store: ForwardingCheckStore, inboxId: string, received: ReceivedTest): Promise<ForwardingTestOutcome | null> {
	const { result } = received;
	if (result.kind === 'bounce') {
		await logBouncedTest(store, inboxId, received);
		return null;
	}
	const token = result.verification?.token;
	if (result.kind !== 'forwarding-test' || !result.verification || !token) return null;
	const outcome = await outcomeFor(store, inboxId, token, received);
	result.verification.check = outcome;
	return outcome;
}

async function outcomeFor(store: ForwardingCheckStore, inboxId: string, token: string, received: ReceivedTest): Promise<ForwardingTestOutcome> {
	if (!tokenBelongsTo(token, inboxId)) {
		return { outcome: 'other-inbox', checkId: null, detail: 'The token was not issued for this inbox: nothing verified' };
	}
	const { verdict } = received.result;
	if (verdict.action === 'reject' || verdict.action === 'defer') {
		// It did arrive, but a refused message is not mail the team would get: the check stays open until its deadline.
		return { outcome: 'refused', checkId: null, detail: `The test message arrived but the security checks refused it: ${verdict.reasons.join('; ')}` };
	}
	const verified = await store.completeForwardingCheck(token, { ...forwardingEvidence(received) }, received.receivedAt);
	if (verified) {
		const held = verdict.action === 'quarantine' ? ' (quarantined by the security checks: see the evidence)' : '';
		return { outcome: 'verified', checkId: verified.id, detail: `Forwarding from ${verified.publicAddress} verified${held}` };
	}
	const latest = (await store.latestForwardingChecks(inboxId)).find((check) => check.token === token);
	if (latest?.status === 'verified') return { outcome: 'already-verified', checkId: latest.id, detail: 'This check was already verified: a repeated delivery verifies nothing more' };
	if (latest?.status === 'failed') {
		return { outcome: 'too-late', checkId: latest.id, detail: `The test message arrived after the check's deadline (${latest.deadline}): run Verify Forwarding again` };
	}
	return { outcome: 'unknown-token', checkId: null, detail: 'No open forwarding check has this token (unknown, already used or superseded): nothing verified' };
}

const BOUNCED_TOKEN = /X-Hosted-Inbox-Verify:\s*(hiv1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22})/i;

/** The bounce's own text and its report parts (delivery status, returned headers or message). */
function bounceTexts(parsed: ParsedMail): string[] {
	const parts = parsed.attachments.filter((a) => /^(message\/(delivery-status|rfc822|global-headers)|text\/rfc822-headers)$/i.test(a.contentType)).map((a) => a.content.toString('utf8'));
	return [parsed.text ?? '', ...parts];
}

/**
 * A bounce of our own test (e.g. Microsoft 365's "550 5.7.520 ... does not allow external forwarding", when the
 * Bounce Address is the hosted address) is written to the intake log with its token, so the status can name it.
 */
async function logBouncedTest(store: ForwardingCheckStore, inboxId: string, received: ReceivedTest): Promise<void> {
	if (!received.parsed) return;
	const texts = bounceTexts(received.parsed);
	const token = texts.map((text) => BOUNCED_TOKEN.exec(text)?.[1]).find(Boolean);
	if (!token || !tokenBelongsTo(token, inboxId)) return;
	const all = texts.join('\n');
	const status = /^Status:\s*([245]\.\d{1,3}\.\d{1,3})/im.exec(all)?.[1] ?? /\b([45]\.\d{1,3}\.\d{1,3})\b/.exec(all)?.[1] ?? null;
	const diagnostic = /^Diagnostic-Code:\s*(?:smtp;\s*)?(.+(?:\r?\n[ \t].+)*)/im.exec(all)?.[1].replace(/\s+/g, ' ').trim() ?? null;
	const { result } = received;
	await store.logIntake({
		inboxId,
		kind: 'forwarding-test',
		clientIp: result.envelope.clientIp,
		helo: result.envelope.helo,
		mailFrom: result.envelope.mailFrom,
		rcpt: result.envelope.rcpt,
		messageId: result.thread.messageId,
		from: result.message?.from?.address ?? null,
		subject: result.message?.subject ?? null,
		details: { verdict: result.verdict, bounce: { token, status, diagnostic } },
	});
}
