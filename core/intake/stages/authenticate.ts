import { checkAuthentication, MAX_BODY_HASHES, MAX_DKIM_SIGNATURES, type AuthDetails } from '../authentication';
import { SMTP_REPLIES } from '../../replies';
import { decision, note, type IntakeStage, type IntakeState } from '../state';
import type { AuthSummary } from '../types';

const FIX_HINT =
	'if this is legitimate mail, the sending domain must sign it with DKIM or list the sending IP in its SPF record; if it reaches you through your own forwarder, add that forwarder\'s ARC sealer to the inbox\'s trustedArcSealers or its IP range to trustedRelays';

function describeDkim(summary: AuthSummary, domain: string): string {
	const signatures = summary.dkim.signatures;
	if (!signatures.length) return `no DKIM signature at all, so none aligned with ${domain}`;
	const aligned = signatures.filter((s) => s.aligned);
	const list = signatures
		.map((s) => `d=${s.domain}${s.selector ? ` s=${s.selector}` : ''}: ${s.result}${s.comment ? ` (${s.comment})` : ''}`)
		.join(', ');
	if (aligned.length) return `the DKIM signature aligned with ${domain} did not verify (${list})`;
	return `no DKIM signature aligned with ${domain} (found ${list})`;
}

function describeSpf(summary: AuthSummary, domain: string): string {
	const { spf } = summary;
	if (!spf.clientIp) return `SPF ${spf.comment ?? 'not checked'}${spf.result !== 'none' ? `: ${spf.result}` : ''}`;
	const alignment = spf.result === 'pass' && spf.domain && spf.domain !== domain ? ` (${spf.domain} is not aligned with ${domain})` : '';
	return `SPF checked ${spf.clientIp} against ${spf.domain ?? 'the HELO name'}: ${spf.result}${alignment}`;
}

function describeArc(summary: AuthSummary): string {
	const { arc } = summary;
	if (arc.result === 'none') return 'no ARC chain';
	if (arc.result === 'pass' && !arc.trusted) {
		return `ARC chain sealed by ${arc.sealer} passes, but ${arc.sealer} is not in this inbox's trustedArcSealers`;
	}
	if (arc.result === 'pass' && !arc.vouch) {
		return `ARC chain sealed by ${arc.sealer} (trusted) passes, but no trusted seal recorded dmarc=pass or an aligned DKIM/SPF pass for the From domain`;
	}
	return `ARC chain${arc.sealer ? ` sealed by ${arc.sealer}` : ''}: ${arc.result}${arc.comment ? ` (${arc.comment})` : ''}`;
}

function dmarcFailure(summary: AuthSummary, domain: string): string {
	const policy = summary.dmarc.policy ?? 'none';
	return `dmarc=fail (p=${policy}) for ${domain}: ${describeDkim(summary, domain)}; ${describeSpf(summary, domain)}; ${describeArc(summary)}`;
}

function dnsErrorDecision(state: IntakeState, trouble: string[]): void {
	const what = trouble.join('; ');
	if (state.inbox.onDnsError === 'defer') {
		note(state, 'dns-error');
		state.decisions.push(
			decision('defer', SMTP_REPLIES.tryAgainLater(`authentication could not be completed: ${what}; answered 451 so the sender retries (inbox onDnsError: defer)`)),
		);
		return;
	}
	note(state, 'dns-error', `authentication could not be completed: ${what}; accepted and flagged (inbox onDnsError: accept)`);
}

/** Applies the inbox's policy to the authentication results: the only place DMARC decides anything. */
function applyPolicy(state: IntakeState, summary: AuthSummary, details: AuthDetails): void {
	const domain = details.headerFromDomain ?? '(no From domain)';
	const result = summary.dmarc.result;
	if (details.ignoredDkimSignatures) {
		note(
			state,
			'dkim-signatures-ignored',
			`${details.ignoredDkimSignatures} of ${summary.dkim.signatures.length} DKIM signatures were not verified: at most ${MAX_DKIM_SIGNATURES} are checked per message (RFC 6376 §6.1), asking for at most ${MAX_BODY_HASHES} body hashes, those aligned with the From domain first, and none longer than any signer writes (each one's comment says which)`,
		);
	}
	if (result === 'temperror') {
		dnsErrorDecision(state, details.dmarcDnsTrouble.length ? details.dmarcDnsTrouble : [`DMARC lookup for ${domain} failed`]);
		return;
	}
	if (details.dnsTrouble.length) {
		note(state, 'dns-error', `some lookups failed temporarily (${details.dnsTrouble.join('; ')}), without changing the verdict: none concerns the DMARC record of ${domain} or a domain aligned with it`);
	}
	if (result === 'permerror') note(state, 'dmarc-permerror', `DMARC record of ${domain} is broken (${summary.dmarc.comment ?? 'permerror'}); treated as no policy`);
	if (result !== 'fail') return;

	const failure = dmarcFailure(summary, domain);
	if (details.arcTrustedPass) {
		note(state, 'dmarc-fail-arc-rescued', `${failure}; accepted because ${summary.arc.vouch}: forwarding broke SPF/DKIM after the sealer checked the mail`);
		return;
	}
	if (details.upstream?.results.dmarc === 'pass') {
		note(state, 'dmarc-fail-relay-rescued', `${failure}; accepted because Authentication-Results of ${details.upstream.authservId} (${details.upstream.trustedAs}) says dmarc=pass`);
		return;
	}
	const policy = summary.dmarc.policy ?? 'none';
	if (policy === 'none') {
		note(state, 'dmarc-fail', `${failure}; accepted: the domain's policy is p=none`);
		return;
	}
	if (state.inbox.dmarcPolicy === 'monitor') {
		note(state, 'dmarc-fail', failure);
		note(state, 'monitor-mode', `inbox dmarcPolicy is monitor: would have ${policy === 'reject' ? 'rejected' : 'quarantined'} the message, accepted and flagged instead`);
		note(state, policy === 'reject' ? 'would-reject' : 'would-quarantine');
		return;
	}
	note(state, 'dmarc-fail');
	if (policy === 'reject') {
		state.decisions.push(decision('reject', SMTP_REPLIES.refusedByPolicy(`${failure}; ${FIX_HINT}`)));
	} else {
		state.decisions.push(decision('quarantine', SMTP_REPLIES.accepted(`${failure}; quarantined per the domain's p=quarantine; ${FIX_HINT}`)));
	}
}

/** Authentication: SPF, DKIM, ARC and DMARC with the envelope when known, then the inbox's policy. */
export const authenticateStage: IntakeStage = {
	name: 'authenticate',
	async run(state) {
		if (state.bodySkipped) {
			state.reasons.push(`authentication not checked: ${state.bodySkipped}`);
			return;
		}
		const { summary, details } = await checkAuthentication(state);
		state.auth = summary;
		state.authDetails = details;
		if (details.upstreamIgnored) note(state, 'authentication-results-ignored', details.upstreamIgnored);
		applyPolicy(state, summary, details);
	},
};
