import type { ParsedMail } from 'mailparser';

import { domainOf, isEmailAddress } from '../../address';
import type { InboxConfig } from '../../inbox';
import { alignedWith, arcVouchFor, signsEvery } from '../authentication';
import { readForwardedBlock, unlabelledForward, withoutForwardPrefixes } from '../forwarded-block';
import { addressesOf, authorOf, firstHeader, parseAddresses } from '../headers';
import type { IntakeStage, IntakeState } from '../state';
import { isRefused, note } from '../state';
import { htmlTextOf, parseMessage } from './parse';
import type { AddressValue, OriginalSender } from '../types';

/** A chain of forwards is not read deeper than this (bounded work on hostile input). */
const MAX_CHAIN = 10;

export function isInternal(address: string, inbox: InboxConfig): boolean {
	if (inbox.internalAddresses.includes(address.toLowerCase())) return true;
	// A subdomain can be another mail system (a vendor's, a tenant's): internal only when listed itself.
	const domain = domainOf(address);
	return !!domain && inbox.internalDomains.includes(domain);
}

/**
 * One forwarded message of a chain: its author (null: a From line with a name and no address, or a forward seen and
 * not read, `unreadable` says why), its subject, how it was carried.
 */
interface Forwarded {
	author: AddressValue | null;
	authorName: string;
	/** The addresses a From line names when it names several: none of them is the author. */
	ambiguous?: string[];
	unreadable?: string;
	subject: string;
	method: 'attached-message' | 'inline-forward';
	carrier: string;
}

const authorText = (f: Forwarded) =>
	f.author?.address ?? (f.unreadable ? 'an author it could not read' : f.ambiguous ? `"${f.authorName}" (naming ${f.ambiguous.join(', ')})` : `"${f.authorName}" (no address)`);

/** What a message (or a forwarded block) holds: where a forward inside it may sit. */
interface Content {
	/**
	 * The texts a forward is read in: a message's text, and the text of its HTML where that differs. mailparser joins
	 * a message's parts; which of them the forwarding client wrote it does not say, and an inline part beside them,
	 * text or HTML, can be the forwarded mail's own, carried along: its sender's to write.
	 */
	readings: string[];
	subject: string;
	attachments: ParsedMail['attachments'];
	/** Whose it is (the address of its From): a forward header names another. */
	writer: string | null;
}

function contentOf(parsed: ParsedMail): Content {
	const text = parsed.text ?? '';
	const html = htmlTextOf(parsed);
	return { readings: html === null || html === text ? [text] : [text, html], subject: parsed.subject ?? '', attachments: parsed.attachments, writer: authorOf(parsed).author?.address ?? null };
}

const blockAuthor = (block: NonNullable<ReturnType<typeof readForwardedBlock>>) =>
	'unreadable' in block ? 'an author it could not read' : (block.address?.toLowerCase() ?? (block.ambiguous ? block.ambiguous.join(', ') : `"${block.name}" (no address)`));

/** A forward seen and not read: nothing inside it is looked at. */
const unreadableForward = (unreadable: string, method: Forwarded['method'], carrier: string, subject = ''): { forwarded: Forwarded; inner: Content } => ({
	forwarded: { author: null, authorName: '', unreadable, subject, method, carrier },
	inner: { readings: [], subject: '', attachments: [], writer: null },
});

/**
 * The message forwarded inside `content`: an inline block, read on less text the deeper it sits in a chain
 * (`depth`), else an attached message/rfc822 (a forward "as attachment"). The block comes first: a client forwarding
 * inline carries the forwarded message's own attachments along, and one of those is whatever its sender attached.
 * A message whose text and HTML show forwards of different authors names none of them.
 */
async function forwardedIn(content: Content, depth = 0): Promise<{ forwarded: Forwarded; inner: Content } | null> {
	const read = content.readings.map((text) => readForwardedBlock(text, content.subject, depth, content.writer));
	const found = read.filter((block) => block !== null);
	if (!found.length) return await attachedIn(content, depth);
	// A reading where the readers know no block may show a forward header in labels they do not: the other's block is then carried along.
	const unlabelled = content.readings.map((text, i) => (read[i] ? null : unlabelledForward(text, content.subject, depth, content.writer))).find((reason) => reason);
	if (unlabelled) {
		const unreadable = `the message's text and its HTML disagree: one shows ${unlabelled}, the other a forward below which the forwarded mail's sender writes`;
		return unreadableForward(unreadable, 'inline-forward', 'inline forwarded block');
	}
	const [block] = found;
	const authors = [...new Set(found.map(blockAuthor))];
	if (authors.length > 1) {
		const unreadable = `the message's text and its HTML show forwards of different authors (${authors.join('; ')}): a part carried along from the forwarded mail can be either`;
		return unreadableForward(unreadable, 'inline-forward', 'inline forwarded block');
	}
	if ('unreadable' in block) return unreadableForward(block.unreadable, 'inline-forward', 'inline forwarded block');
	return {
		forwarded: {
			author: block.address ? { address: block.address, name: block.name } : null,
			authorName: block.name,
			ambiguous: block.ambiguous,
			subject: block.subject,
			method: 'inline-forward',
			carrier: `inline forwarded block (read by ${block.via})`,
		},
		inner: { readings: [block.body], subject: block.subject, attachments: [], writer: block.address },
	};
}

/**
 * A message forwarded "as attachment": its author held to one mailbox, as the outer message's is (authorOf). Not
 * beside a forward header in labels the readers do not know: forwarded inline, the attachment was carried along.
 */
async function attachedIn(content: Content, depth: number): Promise<{ forwarded: Forwarded; inner: Content } | null> {
	const attached = content.attachments.find((a) => a.contentType === 'message/rfc822');
	if (!attached) return null;
	const carrier = 'attached message/rfc822';
	const inline = content.readings.map((text) => unlabelledForward(text, content.subject, depth, content.writer)).find((reason) => reason !== null);
	if (inline) return unreadableForward(`${inline}: the message is forwarded inline, so its attached message is one the forwarded mail's sender attached`, 'attached-message', carrier);
	const inner = await parseMessage(attached.content).catch(() => null);
	if (!inner) return null;
	const { author, problem } = authorOf(inner);
	if (!author) return unreadableForward(problem, 'attached-message', carrier, inner.subject ?? '');
	return { forwarded: { author: { ...author }, authorName: author.name, subject: inner.subject ?? '', method: 'attached-message', carrier }, inner: contentOf(inner) };
}

/**
 * The forwards inside a team member's message, outermost first. Only a team member's forward vouches for the
 * message it carries, so the chain is followed while each author is internal; the first forward an outsider's
 * message holds is read too, to be reported, never believed. An author without an address ends the chain.
 */
async function forwardChain(parsed: ParsedMail, inbox: InboxConfig): Promise<Forwarded[]> {
	const chain: Forwarded[] = [];
	let content = contentOf(parsed);
	while (chain.length < MAX_CHAIN) {
		const found = await forwardedIn(content, chain.length);
		if (!found) break;
		chain.push(found.forwarded);
		if (!found.forwarded.author) break;
		const forwarder = chain[chain.length - 2]?.author;
		if (forwarder && !isInternal(forwarder.address, inbox)) break;
		content = found.inner;
	}
	return chain;
}

/** The mailbox that auto-forwarded a message keeping its From, with the header that shows it. */
function autoForwarder(state: IntakeState, parsed: ParsedMail): { by: string; evidence: string } | null {
	const resent = parseAddresses(firstHeader(parsed, 'resent-from') ?? firstHeader(parsed, 'resent-sender'))[0];
	if (resent) return { by: resent.address, evidence: `Resent-From: ${resent.address} (a redirect that keeps the author)` };
	const forwardedFor = firstHeader(parsed, 'x-forwarded-for');
	const forwardedForAddress = forwardedFor?.split(/[\s,]+/).map((t) => t.replace(/[<>]/g, '')).find(isEmailAddress);
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
	if (d.arcTrustedPass) return arcVouchFor(d, d.headerFromDomain) ?? 'a trusted ARC chain passes';
	if (d.upstream?.results.dmarc === 'pass') return `Authentication-Results of ${d.upstream.authservId} (${d.upstream.trustedAs}) say dmarc=pass`;
	return `no aligned DKIM pass and no DMARC pass for ${d.headerFromDomain ?? 'the From domain'}`;
}

/**
 * A manual forward by a team member (inline or attached, in any client or language): counts only when the
 * outer sender is internal and authenticated. The original sender is the deepest author reached through
 * internal forwarders; what an outsider's message claims to forward goes into the evidence.
 */
async function manualForward(state: IntakeState, parsed: ParsedMail, from: AddressValue): Promise<OriginalSender | null> {
	if (!isInternal(from.address, state.inbox)) return null;
	if (!fromAuthenticated(state)) {
		const first = (await forwardedIn(contentOf(parsed)))?.forwarded;
		if (first) note(state, 'forward-ignored', `a ${first.carrier} from ${authorText(first)} was ignored: the outer sender ${from.address} is internal but not authenticated (${describeAuthentication(state)})`);
		return null;
	}
	const chain = await forwardChain(parsed, state.inbox);
	if (!chain.length) return null;
	const outsider = chain.findIndex((f) => !f.author || !isInternal(f.author.address, state.inbox));
	const deepest = outsider === -1 ? chain.length - 1 : outsider;
	const original = chain[deepest];
	// The forwarded message's own subject, else the team member's without "Fwd:": what the conversation is about.
	const subject = original.subject.trim() || withoutForwardPrefixes(parsed.subject ?? '');
	const path = [from.address, ...chain.slice(0, deepest + 1).map(authorText)].join(' > ');
	const carried = `${original.carrier} from ${authorText(original)}${deepest ? `, the deepest of ${deepest + 1} forwards passed on by team members (${path})` : ''}`;
	const outer = [`outer sender ${from.address} is internal to this inbox`, `outer sender is authenticated: ${describeAuthentication(state)}`];
	if (original.unreadable) {
		// Whatever is named below a forward header nobody could read was written by whoever sent that forwarded message.
		const inside = deepest ? ` in the message of ${authorText(chain[deepest - 1])} (forwarded by team members: ${path})` : '';
		const reason = `a forward${inside} could not be read: ${original.unreadable}; no author named below it is believed: the mail stays filed under the outer sender ${from.address}, untrusted as its author`;
		note(state, 'forward-unreadable', reason);
		return { address: from.address, name: from.name || null, method: 'from-header', forwardedBy: null, trusted: false, evidence: [reason, ...outer], subject };
	}
	if (original.ambiguous) {
		// Which of them the forwarded message's sender really was, its client's rendering does not say.
		const reason = `the ${carried} names more than one address on its From line (${original.ambiguous.join(', ')}): a display name can carry any address, so none is believed: the mail stays filed under the outer sender ${from.address}, untrusted as its author`;
		note(state, 'forward-author-ambiguous', reason);
		return { address: from.address, name: from.name || null, method: 'from-header', forwardedBy: null, trusted: false, evidence: [reason, ...outer], subject };
	}
	if (!original.author) {
		// A name names no mailbox: filing under an address from another line (the To:) would file under the wrong person.
		const reason = `the ${carried} names its author "${original.authorName}" without an address: the mail stays filed under the outer sender ${from.address}, untrusted as its author`;
		note(state, 'forward-author-without-address', reason);
		return { address: from.address, name: from.name || null, method: 'from-header', forwardedBy: null, trusted: false, evidence: [reason, ...outer], subject };
	}
	const author = original.author;
	const evidence = [carried, ...outer];
	for (const claim of chain.slice(deepest + 1)) {
		evidence.push(`the message of ${author.address} holds an ${claim.carrier} from ${authorText(claim)}: not followed, ${author.address} is not internal`);
	}
	return { address: author.address, name: author.name || null, method: original.method, forwardedBy: from.address, trusted: true, evidence, subject };
}

/**
 * Whether a list's rewrite is believed, and why: the list is one the inbox names, or internal with a message that
 * authenticates, and its own DKIM signature signs the X-Original-* field naming the poster; or a trusted ARC sealer
 * recorded a pass for the poster's own mail (the only way a poster named in Reply-To is believed).
 */
function listTrust(state: IntakeState, parsed: ParsedMail, list: AddressValue, poster: Poster): { trusted: boolean; reason: string } {
	const listDomain = domainOf(list.address) ?? '';
	const posterDomain = domainOf(poster.address) ?? '';
	const listSigned = (state.authDetails?.passingDkim ?? []).filter(({ domain }) => alignedWith(domain, listDomain));
	// The list's signature vouches for the poster only through the field that names them: one it did not sign (or an
	// instance more than it signed) anyone could have added to a message of the list's, which anyone can receive.
	const label = POSTER_FIELDS[poster.field];
	const present = parsed.headerLines.filter((h) => h.key === poster.field).length;
	// A Reply-To is the poster's or the list owner's to write (Google Groups' "custom reply-to"): signed, it is still theirs.
	const signer = poster.field === 'reply-to' ? undefined : listSigned.find((signature) => signsEvery(signature, poster.field, present));
	const trustedList = state.inbox.trustedListDomains.includes(listDomain);
	const internalList = isInternal(list.address, state.inbox) && fromAuthenticated(state);
	if (signer && trustedList) {
		return { trusted: true, reason: `the list's message carries a passing DKIM signature d=${signer.domain} that signs its ${label}, and ${listDomain} is a list domain this inbox trusts` };
	}
	if (signer && internalList) {
		return { trusted: true, reason: `the list ${list.address} is internal and its message authenticates: ${describeAuthentication(state)}; its DKIM signature d=${signer.domain} signs its ${label}` };
	}
	// A pass for the list's own domain proves the list address's mail: on a shared domain, any user could name another.
	const ownDomain = alignedWith(listDomain, posterDomain) || alignedWith(posterDomain, listDomain);
	const vouch = state.authDetails && !ownDomain ? arcVouchFor(state.authDetails, posterDomain) : null;
	if (vouch) return { trusted: true, reason: `${vouch}: the poster's own mail, before the list rewrote it` };
	if (trustedList || internalList) {
		const signature =
			poster.field === 'reply-to'
				? 'a Reply-To is written by the poster or the list\'s owner, which no list signature vouches for'
				: listSigned.length
					? `no DKIM signature of ${listDomain} signs its ${label} (or every one of them the message holds), so anyone could have added it to a message of the list's`
					: `no passing DKIM signature of ${listDomain} signs its ${label}`;
		return { trusted: false, reason: `the rewrite is not trusted: ${signature}, and no trusted ARC sealer recorded a pass for ${posterDomain}` };
	}
	return {
		trusted: false,
		reason: `the rewrite is not trusted: ${listDomain} is neither a list domain this inbox trusts (trustedListDomains) nor an internal domain whose message authenticates, and no trusted ARC sealer recorded a pass for ${posterDomain}`,
	};
}

/** "'Jane' via Support" -> [, 'Jane', 'Support'], read with indexOf: a display name is attacker text. */
function listVia(name: string): [string, string, string] | null {
	const at = name.toLowerCase().indexOf(' via ');
	const list = name.slice(at + 5);
	if (at < 0 || !list || /[\r\n\u2028\u2029]/.test(name)) return null;
	const poster = name.slice(0, at);
	return [name, poster.slice(poster.startsWith("'") ? 1 : 0, poster.endsWith("'") && poster.length > 1 ? -1 : undefined), list];
}

/** The header fields a list's rewrite names its poster in, in the order they are read. */
const POSTER_FIELDS = { 'x-original-from': 'X-Original-From', 'x-original-sender': 'X-Original-Sender', 'reply-to': 'Reply-To' } as const;

/** The poster a list's rewrite names, and the header field that names them. */
interface Poster extends AddressValue {
	field: keyof typeof POSTER_FIELDS;
}

/**
 * A list that rewrote From (Google Groups "'Jane' via Support", X-Original-From/Sender, Reply-To): the poster of the
 * first field the list vouches for, else of the first field that names one (untrusted).
 */
function listRewrite(state: IntakeState, parsed: ParsedMail, from: AddressValue): OriginalSender | null {
	const via = listVia(from.name);
	const named: Poster[] = [];
	for (const field of ['x-original-from', 'x-original-sender'] as const) {
		const poster = parseAddresses(firstHeader(parsed, field))[0];
		if (poster && poster.address !== from.address) named.push({ address: poster.address, name: poster.name || (via?.[1] ?? ''), field });
	}
	// Reply-To beside a "via" name, when it is one field naming one mailbox.
	const replyTo = addressesOf(parsed.replyTo);
	if (via && replyTo.length === 1 && replyTo[0].address !== from.address && parsed.headerLines.filter((h) => h.key === 'reply-to').length === 1) {
		named.push({ address: replyTo[0].address, name: replyTo[0].name || via[1], field: 'reply-to' });
	}
	if (!named.length) return null;
	const judged = named.map((poster) => ({ poster, ...listTrust(state, parsed, from, poster) }));
	const { poster, trusted, reason } = judged.find((each) => each.trusted) ?? judged[0];
	const evidence = [`${POSTER_FIELDS[poster.field]}: ${poster.address}`];
	if (via) evidence.push(`From "${from.name}" <${from.address}> is a list rewrite ("via ${via[2]}")`);
	else evidence.push(`From ${from.address} is the list address`);
	evidence.push(reason);
	if (!trusted) note(state, 'list-rewrite-untrusted', `original poster ${poster.address} named by the list ${from.address} is not authenticated: any domain can write such a rewrite; treat the contact match with care`);
	return { address: poster.address, name: poster.name || null, method: 'list-rewrite', forwardedBy: from.address, trusted, evidence, subject: null };
}

/** Original sender: the author of the original email, never the forwarder; trust rules from the design notes. */
export const originalSenderStage: IntakeStage = {
	name: 'original-sender',
	async run(state) {
		const parsed = state.parsed;
		if (!parsed) return;
		// The parse stage already held a message without a single author; it names no contact.
		const { author: from, problem } = authorOf(parsed);
		if (!from) {
			state.originalSender = { address: null, name: null, method: 'from-header', forwardedBy: null, trusted: false, evidence: [problem], subject: null };
			return;
		}
		// A refused message keeps the sender its headers name; reading the forwards it carries would only refine it.
		const forward = isRefused(state) ? null : await manualForward(state, parsed, from);
		state.originalSender = forward ?? listRewrite(state, parsed, from) ?? fromHeader(state, parsed, from);
	},
};

function fromHeader(state: IntakeState, parsed: ParsedMail, from: AddressValue): OriginalSender {
	const forwarder = autoForwarder(state, parsed);
	const trusted = fromAuthenticated(state);
	const evidence = [`From: ${from.address}`];
	if (forwarder) evidence.push(forwarder.evidence);
	evidence.push(trusted ? `authenticated: ${describeAuthentication(state)}` : `not authenticated: ${describeAuthentication(state)}`);
	return { address: from.address, name: from.name || null, method: 'from-header', forwardedBy: forwarder?.by ?? null, trusted, evidence, subject: null };
}
