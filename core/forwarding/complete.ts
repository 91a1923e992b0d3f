import { headerValues } from '../intake/content';
import { intakeLogEntry, loggedMessage } from '../intake/intake-log';
import { FORWARDING_TEST_HEADER } from '../intake/pipeline';
import type { DecidedMessage, ForwardingTestOutcome } from '../intake/types';
import type { ForwardingCheck } from '../store/types';
import type { ForwardingCheckStore, IntakeLogStore } from '../store/roles';
import { forwardingEvidence } from './evidence';

/**
 * A forwarding test that reached the inbox completes its check: verified when it shows it was forwarded (with the
 * path it took as evidence), failed "delivered directly, not forwarded" when it shows no sign of forwarding.
 * Called by the intake door (core/intake/door.ts) before it logs and answers, so the outcome (never the token) travels in
 * `verification.check` to the intake log and the Forwarding confirmation output. A used or late token completes
 * nothing. Returns null for any other kind of message.
 */
export async function settleForwardingTest(store: ForwardingCheckStore & IntakeLogStore, inboxId: string, received: DecidedMessage): Promise<ForwardingTestOutcome | null> {
	const { result } = received;
	if (result.kind === 'bounce') {
		await logBouncedTest(store, inboxId, received);
		return null;
	}
	// The classify stage made it a forwarding test for a token of the right shape bound to this inbox.
	const token = headerValues(received.content, FORWARDING_TEST_HEADER)[0] || null;
	if (result.kind !== 'forwarding-test' || !result.verification || !token) return null;
	const check = await checkOf(store, inboxId, token);
	if (!check) {
		// Anyone can mint a token of that shape (its binding is keyed by its own nonce): only one a check of this
		// inbox holds makes a forwarding test; any other is an ordinary message, never one for the Forwarding output.
		result.kind = 'message';
		result.verification = null;
		result.verdict.flags.push('forwarding-test-foreign');
		result.verdict.reasons.push(`${FORWARDING_TEST_HEADER} carries a token no forwarding check of this inbox holds (unknown, used or superseded): taken as an ordinary message`);
		return null;
	}
	const outcome = await outcomeFor(store, inboxId, check, token, received);
	result.verification.check = outcome;
	return outcome;
}

/** The latest check of the inbox, when this token is its token (an older check's token opens nothing). */
async function checkOf(store: ForwardingCheckStore & IntakeLogStore, inboxId: string, token: string): Promise<ForwardingCheck | undefined> {
	return (await store.latestForwardingChecks(inboxId)).find((check) => check.token === token);
}

async function outcomeFor(store: ForwardingCheckStore & IntakeLogStore, inboxId: string, check: ForwardingCheck, token: string, received: DecidedMessage): Promise<ForwardingTestOutcome> {
	const { verdict } = received.result;
	if (verdict.action === 'reject' || verdict.action === 'defer') {
		// It did arrive, but a refused message is not mail the team would get: the check stays open until its deadline.
		return { outcome: 'refused', checkId: check.id, detail: `The test message arrived but the security checks refused it: ${verdict.reasons.join('; ')}` };
	}
	const evidence = forwardingEvidence(received, check.publicAddress);
	if (!evidence.forwardingSigns.length) {
		if (await store.failForwardingCheck(check.id, { notForwarded: true, ...evidence })) {
			return { outcome: 'not-forwarded', checkId: check.id, detail: `Delivered directly, not forwarded: the test reached the hosted inbox with no sign of passing through ${check.publicAddress}` };
		}
	} else {
		const verified = await store.completeForwardingCheck(token, { ...evidence }, received.receivedAt);
		if (verified) {
			const held = verdict.action === 'quarantine' ? ' (quarantined by the security checks: see the evidence)' : '';
			return { outcome: 'verified', checkId: verified.id, detail: `Forwarding from ${verified.publicAddress} verified${held}` };
		}
	}
	const now = (await checkOf(store, inboxId, token)) ?? check;
	if (now.status === 'verified') return { outcome: 'already-verified', checkId: now.id, detail: 'This check was already verified: a repeated delivery verifies nothing more' };
	if (now.status === 'failed' && received.receivedAt >= now.deadline) {
		return { outcome: 'too-late', checkId: now.id, detail: `The test message arrived after the check's deadline (${now.deadline}): run Verify Forwarding again` };
	}
	return { outcome: 'unknown-token', checkId: now.id, detail: 'This check is no longer open (already failed): nothing verified' };
}

const BOUNCED_TOKEN = /X-Hosted-Inbox-Verify:\s*(hiv1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22})/i;

/** The bounce's own text and its report parts (delivery status, returned headers or message). */
function bounceTexts({ result, content }: DecidedMessage): string[] {
	const parts = (content?.attachments ?? []).filter((a) => /^(message\/(delivery-status|rfc822|global-headers)|text\/rfc822-headers)$/i.test(a.contentType)).map((a) => a.content.toString('utf8'));
	return [result.message?.text ?? '', ...parts];
}

/**
 * A bounce of our own test (e.g. Microsoft 365's "550 5.7.520 ... does not allow external forwarding", when the
 * Bounce Address is the hosted address) is written to the intake log with its check's id (never the token), so the
 * status can name it.
 */
async function logBouncedTest(store: ForwardingCheckStore & IntakeLogStore, inboxId: string, received: DecidedMessage): Promise<void> {
	if (!received.content) return;
	const texts = bounceTexts(received);
	const token = texts.map((text) => BOUNCED_TOKEN.exec(text)?.[1]).find(Boolean);
	const check = token ? await checkOf(store, inboxId, token) : undefined;
	if (!check) return;
	const all = texts.join('\n');
	const status = /^Status:\s*([245]\.\d{1,3}\.\d{1,3})/im.exec(all)?.[1] ?? /\b([45]\.\d{1,3}\.\d{1,3})\b/.exec(all)?.[1] ?? null;
	const diagnostic = /^Diagnostic-Code:\s*(?:smtp;\s*)?(.+(?:\r?\n[ \t].+)*)/im.exec(all)?.[1].replace(/\s+/g, ' ').trim() ?? null;
	const { result } = received;
	await store.logIntake(intakeLogEntry(inboxId, 'forwarding-test', loggedMessage(result), { verdict: result.verdict, bounce: { checkId: check.id, status, diagnostic } }));
}
