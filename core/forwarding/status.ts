import type { Verification } from '../intake/types';
import { type ForwardingCheck, type Inbox, type IntakeLogEntry, type IntakeLogKind } from '../store/types';
import { InvalidInputError } from '../errors';
import type { ForwardingCheckStore, InboxStore, IntakeLogStore } from '../store/roles';
import type { ForwardingEvidence } from './evidence';

export type ForwardingStatusStore = ForwardingCheckStore & IntakeLogStore & InboxStore;

export type ForwardingCauseName =
	| 'test-not-sent'
	| 'delivered-directly'
	| 'rejected-by-security-checks'
	| 'arrived-after-deadline'
	| 'test-bounced'
	| 'provider-confirmation-pending'
	| 'external-forwarding-blocked'
	| 'no-forwarding-rule';

export interface ForwardingCause {
	cause: ForwardingCauseName;
	/** What to look at or do, in words for the person fixing it. */
	explanation: string;
	/** What the store shows for it (intake-log entries); absent when the cause is only likely. */
	evidence?: Array<Record<string, unknown>>;
}

/** One inbox's forwarding, as the status operation, the CLI and the template read it. The token is never shown. */
export interface ForwardingStatus {
	inbox: { id: string; address: string };
	status: 'unknown' | ForwardingCheck['status'];
	check: Omit<ForwardingCheck, 'token'> | null;
	/** Failed checks only: the likely causes, those with evidence first. */
	causes: ForwardingCause[];
	/** Verified checks: what the security checks made of the forwarded test (DMARC, ARC, quarantine). */
	notes: string[];
}

const EXTERNAL_BLOCK =
	'A tenant policy may block forwarding outside the organisation: Microsoft 365 answers "550 5.7.520 Access denied, Your organization does not allow external forwarding". Allow external forwarding for the public address (outbound anti-spam policy, automatic forwarding "On"), or forward with a mail flow rule.';

/** How far back the intake log is searched for entries about a check (provider confirmations may predate it). */
const LOG_LIMIT = 200;
const REFUSED_KINDS: IntakeLogKind[] = ['rejected', 'quarantined', 'deferred'];

function verificationOf(entry: IntakeLogEntry): Verification | null {
	const verification = entry.details.verification;
	return verification && typeof verification === 'object' ? (verification as Verification) : null;
}

function reasonsOf(entry: IntakeLogEntry): string[] {
	const reasons = (entry.details.verdict as { reasons?: unknown } | undefined)?.reasons;
	return Array.isArray(reasons) ? reasons.map(String) : [];
}

async function entries(store: ForwardingStatusStore, inboxId: string, kinds: IntakeLogKind[]): Promise<IntakeLogEntry[]> {
	const lists = await Promise.all(kinds.map(async (kind) => await store.listIntake({ inboxId, kind, limit: LOG_LIMIT })));
	return lists.flat().sort((a, b) => b.at.localeCompare(a.at));
}

/** Likely causes of a failed check: what the intake log proves first, then what it cannot see. */
async function causesOf(store: ForwardingStatusStore, check: ForwardingCheck): Promise<ForwardingCause[]> {
	const sendError = check.evidence?.sendError;
	if (typeof sendError === 'string') {
		return [{ cause: 'test-not-sent', explanation: `The test message could not be sent (${sendError}): check the SMTP credential and that it may send to ${check.publicAddress}.` }];
	}
	if (check.evidence?.notForwarded === true) {
		const evidence = check.evidence as unknown as ForwardingEvidence;
		return [
			{
				cause: 'delivered-directly',
				explanation: `Delivered directly, not forwarded: the test message reached the hosted inbox without passing through ${check.publicAddress} (no Received hop for it, no ARC seal, no envelope rewrite such as SRS or +caf_=). Check that the public address is not the hosted address itself and that the SMTP server does not deliver straight to the hosted inbox; then set up forwarding at ${check.publicAddress}'s provider and verify again.`,
				evidence: [{ at: evidence.arrivedAt, clientIp: evidence.client?.ip ?? null, envelopeSender: evidence.forwarding?.envelopeSender ?? null, received: evidence.received?.map((hop) => hop.text) ?? [] }],
			},
		];
	}
	// Intake-log entries name their check by id: the token itself is never logged.
	const about = (entry: IntakeLogEntry) => verificationOf(entry)?.check?.checkId === check.id;
	const refused = (await entries(store, check.inboxId, REFUSED_KINDS)).filter(about);
	if (refused.length) {
		return [
			{
				cause: 'rejected-by-security-checks',
				explanation: `The test message reached the hosted inbox but its security checks ${refused[0].kind === 'deferred' ? 'deferred' : refused[0].kind} it: ${reasonsOf(refused[0]).join('; ')}. Fix what failed (often the forwarder's SPF, DKIM or ARC), or trust the forwarder's ARC sealer or relay in the inbox settings.`,
				evidence: refused.map((entry) => ({ at: entry.at, kind: entry.kind, clientIp: entry.clientIp, reasons: reasonsOf(entry) })),
			},
		];
	}
	const tests = await entries(store, check.inboxId, ['forwarding-test']);
	const late = tests.filter((entry) => about(entry) && verificationOf(entry)?.check?.outcome === 'too-late');
	if (late.length) {
		return [
			{
				cause: 'arrived-after-deadline',
				explanation: `Forwarding works but the test message took longer than the check allowed (deadline ${check.deadline}): run Verify Forwarding again with a longer timeout.`,
				evidence: late.map((entry) => ({ at: entry.at, clientIp: entry.clientIp })),
			},
		];
	}
	const bounced = tests.filter((entry) => (entry.details.bounce as { checkId?: string } | undefined)?.checkId === check.id);
	if (bounced.length) {
		const { status, diagnostic } = bounced[0].details.bounce as { status: string | null; diagnostic: string | null };
		const said = [status, diagnostic].filter(Boolean).join(' ') || 'no reason given';
		const evidence = bounced.map((entry) => ({ at: entry.at, from: entry.from, ...(entry.details.bounce as Record<string, unknown>) }));
		return [
			/5\.7\.520|external forwarding/i.test(said)
				? { cause: 'external-forwarding-blocked', explanation: `${EXTERNAL_BLOCK} The test bounced with: ${said}.`, evidence }
				: { cause: 'test-bounced', explanation: `The provider bounced the test message instead of forwarding it: ${said}.`, evidence },
		];
	}
	const confirmations = (await entries(store, check.inboxId, ['forwarding-confirmation']))
		.map((entry) => ({ entry, verification: verificationOf(entry) }))
		.filter(({ verification }) => verification);
	// A confirmation requested by the public address is the one to act on; others are shown when none is.
	const forThisAddress = confirmations.filter(({ verification }) => verification?.requestedBy === check.publicAddress);
	const pending = forThisAddress.length ? forThisAddress : confirmations;
	const causes: ForwardingCause[] = [
		{
			cause: 'no-forwarding-rule',
			explanation: `Nothing sent to ${check.publicAddress} reached the hosted inbox: check that ${check.publicAddress} has a forwarding rule (or group member, alias) to the hosted address and that it is saved and on.`,
		},
		{
			cause: 'provider-confirmation-pending',
			explanation: pending.length
				? `The provider sent a confirmation to the hosted address (code ${pending[0].verification?.code ?? 'in the link'}): confirm it in the provider's forwarding settings, then verify again.`
				: 'Some providers (Gmail, Outlook.com) forward only after the forwarding address is confirmed; no confirmation reached the hosted inbox, so check the provider\'s forwarding settings for a pending request.',
			...(pending.length
				? {
						evidence: pending.slice(0, 5).map(({ entry, verification }) => ({
							at: entry.at,
							provider: verification?.provider ?? null,
							code: verification?.code ?? null,
							confirmUrl: verification?.confirmUrl ?? null,
							requestedBy: verification?.requestedBy ?? null,
						})),
					}
				: {}),
		},
		{
			cause: 'external-forwarding-blocked',
			explanation: `${EXTERNAL_BLOCK} Look for that bounce in the mailbox of the test's Bounce Address (set it to the hosted address and the status shows it).`,
		},
	];
	// Causes the store has evidence for come first.
	return causes.sort((a, b) => Number(Boolean(b.evidence)) - Number(Boolean(a.evidence)));
}

/** What the security checks made of a verified test: forwarded mail the team gets should also pass them. */
function notesOf(check: ForwardingCheck): string[] {
	const evidence = check.evidence as Partial<ForwardingEvidence> | null;
	if (!evidence) return [];
	const notes: string[] = [];
	if (evidence.verdict?.action === 'quarantine') notes.push(`The test arrived but was quarantined: ${evidence.verdict.reasons.join('; ')}`);
	const auth = evidence.auth;
	if (auth && auth.dmarc.result !== 'pass' && auth.dmarc.result !== 'none') {
		const rescued = auth.arc.result === 'pass' && auth.arc.trusted;
		notes.push(`DMARC ${auth.dmarc.result} for ${auth.dmarc.domain ?? 'the sender'} on forwarded mail${rescued ? `; accepted through the trusted ARC seal of ${auth.arc.sealer}` : ''}`);
	}
	if (evidence.verdict?.flags?.length) notes.push(`Intake flags: ${evidence.verdict.flags.join(', ')}`);
	return notes;
}

/** A check as shown to people and workflows: the token would let anyone who reads it forge the test. */
export function withoutToken(check: ForwardingCheck): Omit<ForwardingCheck, 'token'> {
	const shown: Partial<ForwardingCheck> = { ...check };
	delete shown.token;
	return shown as Omit<ForwardingCheck, 'token'>;
}

async function statusOf(store: ForwardingStatusStore, inbox: Inbox, check: ForwardingCheck | undefined): Promise<ForwardingStatus> {
	if (!check) return { inbox: { id: inbox.id, address: inbox.address }, status: 'unknown', check: null, causes: [], notes: [] };
	return {
		inbox: { id: inbox.id, address: inbox.address },
		status: check.status,
		check: withoutToken(check),
		causes: check.status === 'failed' ? await causesOf(store, check) : [],
		notes: check.status === 'verified' ? notesOf(check) : [],
	};
}

/** The latest check per inbox (status `unknown` for an inbox never checked); one inbox when `inbox` (address or id) is given. */
export async function forwardingStatus(store: ForwardingStatusStore, inbox?: string): Promise<ForwardingStatus[]> {
	const one = inbox ? await store.getInbox(inbox) : null;
	if (inbox && !one) throw new InvalidInputError(`Unknown inbox "${inbox}": no inbox has this address or ID (a Hosted Inbox Trigger registers it when activated)`);
	const inboxes = one ? [one] : await store.listInboxes();
	const checks = await store.latestForwardingChecks(one?.id);
	const byInbox = new Map(checks.map((check) => [check.inboxId, check]));
	return await Promise.all(inboxes.map(async (each) => await statusOf(store, each, byInbox.get(each.id))));
}
