import type { ParsedMail } from 'mailparser';

import type { InboxConfig } from '../../inbox';
import { findForwardedAuthor } from '../forwarded-block';
import { addressesOf, domainOf, firstHeader, headerTexts, parseAddresses } from '../headers';
import type { IntakeStage, IntakeState } from '../state';
import { note } from '../state';
import { parseMessage } from './parse';
import type { AddressValue, OriginalSender } from '../types';

const MAX_ATTACHED_CHAIN = 5;

export function isInternal(address: string, inbox: InboxConfig): boolean {
	const domain = domainOf(address);
	if (inbox.internalAddresses.includes(address.toLowerCase())) return true;
	return !!domain && inbox.internalDomains.some((d) => domain === d || domain.endsWith(`.${d}`));
}

function alignedWith(signingDomain: string, domain: string): boolean {
	return signingDomain === domain || domain.endsWith(`.${signingDomain}`) || signingDomain.endsWith(`.${domain}`);
}

/** The innermost message attached as message/rfc822 (a forward "as attachment", possibly of a forward). */
async function attachedAuthor(parsed: ParsedMail): Promise<{ author: AddressValue; depth: number } | null> {
	let current = parsed;
	let found: { author: AddressValue; depth: number } | null = null;
	for (let depth = 1; depth <= MAX_ATTACHED_CHAIN; depth++) {
		const attached = current.attachments.find((a) => a.contentType === 'message/rfc822');
		if (!attached) break;
		try {
			current = await parseMessage(attached.content);
		} catch {
			break;
		}
		const author = addressesOf(current.from)[0];
		if (!author) break;
		found = { author, depth };
	}
	return found;
}

/** The mailbox that auto-forwarded a message keeping its From, with the header that shows it. */
function autoForwarder(state: IntakeState, parsed: ParsedMail): { by: string; evidence: string } | null {
	const resent = parseAddresses(firstHeader(parsed, 'resent-from') ?? firstHeader(parsed, 'resent-sender'))[0];
	if (resent) return { by: resent.address, evidence: `Resent-From: ${resent.address} (a redirect that keeps the author)` };
	const forwardedFor = firstHeader(parsed, 'x-forwarded-for');
	const forwardedForAddress = forwardedFor?.split(/[\s,]+/).find((t) => t.includes('@'))?.replace(/[<>]/g, '');
	if (forwardedForAddress) return { by: forwardedForAddress.toLowerCase(), evidence: `X-Forwarded-For: ${forwardedFor} (Gmail auto-forward)` };
	const returnPath = state.envelope.mailFrom ?? parseAddresses(firstHeader(parsed, 'return-path'))[0]?.address ?? null;
	const caf = returnPath ? /^([^+@]+)\+caf_=[^@]*@(.+)$/i.exec(returnPath) : null;
	if (caf) return { by: `${caf[1]}@${caf[2]}`.toLowerCase(), evidence: `envelope sender ${returnPath} (Gmail +caf_= auto-forward)` };
	if (returnPath && /(^|[+=])SRS[01][=+-]/i.test(returnPath)) {
		return { by: returnPath.toLowerCase(), evidence: `SRS envelope sender ${returnPath} (a forwarder rewrote the envelope, e.g. Microsoft 365)` };
	}
	return null;
}

function fromAuthenticated(state: IntakeState): boolean {
	const d = state.authDetails;
	return !!d && (d.dmarcPass || d.dkimAlignedPass || d.arcTrustedPass || d.upstream?.results.dmarc === 'pass');
}

function describeAuthentication(state: IntakeState): string {
	const d = state.authDetails;
	if (!d) return 'authentication was not checked';
	if (d.dkimAlignedPass) return `DKIM aligned with ${d.headerFromDomain} passes`;
	if (d.dmarcPass) return `DMARC passes for ${d.headerFromDomain}`;
	if (d.arcTrustedPass) return `a trusted ARC chain (${state.auth?.arc.sealer}) passes`;
	return `no aligned DKIM pass and no DMARC pass for ${d.headerFromDomain ?? 'the From domain'}`;
}

/** A manual forward by a team member: counts only when the forwarder is internal and authenticated. */
async function manualForward(state: IntakeState, parsed: ParsedMail, from: AddressValue): Promise<OriginalSender | null> {
	if (!isInternal(from.address, state.inbox)) return null;
	const attached = await attachedAuthor(parsed);
	const inline = attached ? null : findForwardedAuthor(parsed.text ?? '', parsed.subject ?? '');
	if (!attached && !inline) return null;
	const author = attached ? attached.author : { address: inline!.address, name: inline!.name };
	const depth = attached ? attached.depth : inline!.depth;
	const method = attached ? 'attached-message' : 'inline-forward';
	const where = attached
		? `attached message/rfc822${depth > 1 ? ` (innermost of ${depth} nested)` : ''} from ${author.address}`
		: `inline forwarded block${depth > 1 ? ` (innermost of a chain of ${depth})` : ''} from ${author.address}, read by ${inline!.via}`;
	if (!fromAuthenticated(state)) {
		note(state, 'forward-ignored', `a ${where} was ignored: the outer sender ${from.address} is internal but not authenticated (${describeAuthentication(state)})`);
		return null;
	}
	return {
		address: author.address,
		name: author.name || null,
		method,
		forwardedBy: from.address,
		trusted: true,
		evidence: [where, `outer sender ${from.address} is internal to this inbox`, `outer sender is authenticated: ${describeAuthentication(state)}`],
	};
}

/** A list that rewrote From (Google Groups "'Jane' via Support", X-Original-From/Sender, Reply-To). */
function listRewrite(state: IntakeState, parsed: ParsedMail, from: AddressValue): OriginalSender | null {
	const originalFrom = parseAddresses(firstHeader(parsed, 'x-original-from'))[0];
	const originalSender = parseAddresses(firstHeader(parsed, 'x-original-sender'))[0];
	const via = /^'?(.*?)'? via (.+)$/i.exec(from.name);
	const replyTo = addressesOf(parsed.replyTo)[0];
	const evidence: string[] = [];
	let poster: AddressValue | undefined;
	if (originalFrom && originalFrom.address !== from.address) {
		poster = originalFrom;
		evidence.push(`X-Original-From: ${originalFrom.address}`);
	} else if (originalSender && originalSender.address !== from.address) {
		poster = { address: originalSender.address, name: originalSender.name || (via?.[1] ?? '') };
		evidence.push(`X-Original-Sender: ${originalSender.address}`);
	} else if (via && replyTo && replyTo.address !== from.address) {
		poster = { address: replyTo.address, name: replyTo.name || via[1] };
		evidence.push(`Reply-To: ${replyTo.address}`);
	}
	if (!poster) return null;
	if (via) evidence.push(`From "${from.name}" <${from.address}> is a list rewrite ("via ${via[2]}")`);
	else evidence.push(`From ${from.address} is the list address`);
	const listDomain = domainOf(from.address) ?? '';
	const dkimDomain = state.authDetails?.passingDkimDomains.find((d) => alignedWith(d, listDomain));
	const trusted = !!dkimDomain || !!state.authDetails?.arcTrustedPass;
	if (dkimDomain) evidence.push(`the list's message carries a passing DKIM signature d=${dkimDomain} aligned with ${listDomain}`);
	else if (trusted) evidence.push(`the list's message carries a passing ARC chain sealed by ${state.auth?.arc.sealer} (trusted)`);
	else {
		evidence.push(`the list's message does not authenticate (no passing DKIM aligned with ${listDomain}, no trusted ARC chain)`);
		note(state, 'list-rewrite-untrusted', `original poster ${poster.address} named by the list ${from.address} is not authenticated: treat the contact match with care`);
	}
	return { address: poster.address, name: poster.name || null, method: 'list-rewrite', forwardedBy: from.address, trusted, evidence };
}

/** Original sender: the author of the original email, never the forwarder; trust rules from the design notes. */
export const originalSenderStage: IntakeStage = {
	name: 'original-sender',
	async run(state) {
		const parsed = state.parsed;
		if (!parsed) return;
		const from = addressesOf(parsed.from)[0];
		if (!from) {
			const raw = headerTexts(parsed, 'from')[0];
			note(state, 'no-from', raw ? `From header "${raw}" holds no usable address: the message cannot be filed under a contact` : 'message has no From header: it cannot be filed under a contact; check the sending application');
			state.originalSender = { address: null, name: null, method: 'from-header', forwardedBy: null, trusted: false, evidence: [raw ? `unusable From: ${raw}` : 'no From header'] };
			return;
		}
		state.originalSender =
			(await manualForward(state, parsed, from)) ?? listRewrite(state, parsed, from) ?? fromHeader(state, parsed, from);
	},
};

function fromHeader(state: IntakeState, parsed: ParsedMail, from: AddressValue): OriginalSender {
	const forwarder = autoForwarder(state, parsed);
	const trusted = fromAuthenticated(state);
	const evidence = [`From: ${from.address}`];
	if (forwarder) evidence.push(forwarder.evidence);
	evidence.push(trusted ? `authenticated: ${describeAuthentication(state)}` : `not authenticated: ${describeAuthentication(state)}`);
	return { address: from.address, name: from.name || null, method: 'from-header', forwardedBy: forwarder?.by ?? null, trusted, evidence };
}
