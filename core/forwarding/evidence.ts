import { headerValues } from '../intake/content';
import type { AuthSummary, DecidedMessage, MessageContent, Verdict } from '../intake/types';

/** Enough hops for any real forwarding path; a longer chain is cut, not stored whole. */
const MAX_HOPS = 20;

export interface ReceivedHop {
	from: string | null;
	by: string | null;
	with: string | null;
	/** The recipient the hop took the message for, when it says (`for <address>`). */
	for: string | null;
	at: string | null;
	text: string;
}

export type EnvelopeRewrite = 'gmail-caf' | 'srs' | 'other' | 'none';

/** What the test message showed about the path it took, stored with the verified check. */
export interface ForwardingEvidence {
	arrivedAt: string;
	messageId: string | null;
	/** Newest hop first, as the headers stand. */
	received: ReceivedHop[];
	forwarding: {
		xForwardedFor: string[];
		xForwardedTo: string[];
		resentFrom: string[];
		envelopeSender: string | null;
		/** How the forwarder rewrote the envelope sender: Gmail `+caf_=`, Sender Rewriting Scheme, another address, or not at all. */
		envelopeRewrite: EnvelopeRewrite;
	};
	/** ARC-Seal signers, in instance order (i=1 first). */
	arcSealers: Array<{ instance: number; domain: string }>;
	/**
	 * What shows the test was forwarded rather than delivered straight to the hosted address: a Received hop that
	 * took it for the public address, an ARC seal, or the forwarder's envelope rewrite (Gmail `+caf_=`, SRS).
	 * Empty for a direct delivery, which verifies nothing.
	 */
	forwardingSigns: string[];
	auth: AuthSummary | null;
	verdict: Pick<Verdict, 'action' | 'reasons' | 'flags'>;
	client: { ip: string | null; helo: string | null };
}

function receivedHop(text: string): ReceivedHop {
	const single = text.replace(/\s+/g, ' ').trim();
	const word = (name: string) => new RegExp(`(?:^|\\s)${name}\\s+([^\\s;()]+)`, 'i').exec(single)?.[1] ?? null;
	const when = single.lastIndexOf(';');
	const date = when >= 0 ? new Date(single.slice(when + 1).trim()) : null;
	return { from: word('from'), by: word('by'), with: word('with'), for: word('for')?.replace(/^<|>$/g, '').toLowerCase() ?? null, at: date && !Number.isNaN(date.getTime()) ? date.toISOString() : null, text: single.slice(0, 500) };
}

function envelopeRewrite(mailFrom: string | null, from: string | null): EnvelopeRewrite {
	if (!mailFrom) return 'none';
	const local = mailFrom.slice(0, mailFrom.lastIndexOf('@'));
	if (/\+caf_=/i.test(local)) return 'gmail-caf';
	if (/^SRS[01][=+-]/i.test(local)) return 'srs';
	return from && mailFrom.toLowerCase() !== from.toLowerCase() ? 'other' : 'none';
}

function arcSealers(content: MessageContent | null): ForwardingEvidence['arcSealers'] {
	return headerValues(content, 'arc-seal')
		.map((seal) => ({ instance: Number(/(?:^|;)\s*i\s*=\s*(\d+)/.exec(seal)?.[1] ?? NaN), domain: /(?:^|;)\s*d\s*=\s*([^;\s]+)/.exec(seal)?.[1]?.toLowerCase() ?? '' }))
		.filter((seal) => Number.isFinite(seal.instance) && seal.domain)
		.sort((a, b) => a.instance - b.instance);
}

const REWRITES: Partial<Record<EnvelopeRewrite, string>> = { 'gmail-caf': 'Gmail +caf_=', srs: 'SRS' };

function forwardingSigns(publicAddress: string, received: ReceivedHop[], sealers: ForwardingEvidence['arcSealers'], rewrite: EnvelopeRewrite): string[] {
	const hops = received.filter((hop) => hop.for === publicAddress.toLowerCase()).map((hop) => `Received by ${hop.by ?? 'a server'} for ${publicAddress}`);
	const seals = sealers.map((seal) => `ARC seal by ${seal.domain} (i=${seal.instance})`);
	const envelope = REWRITES[rewrite] ? [`envelope sender rewritten by the forwarder (${REWRITES[rewrite]})`] : [];
	return [...hops, ...seals, ...envelope];
}

/** The path and the security checks of a test message sent to `publicAddress`, from the intake's result and the message's headers. */
export function forwardingEvidence(message: DecidedMessage, publicAddress: string): ForwardingEvidence {
	const { result, content } = message;
	const received = headerValues(content, 'received').slice(0, MAX_HOPS).map(receivedHop);
	const sealers = arcSealers(content);
	const rewrite = envelopeRewrite(result.envelope.mailFrom, result.message?.from?.address ?? null);
	return {
		arrivedAt: message.receivedAt,
		messageId: result.thread.messageId,
		received,
		forwarding: {
			xForwardedFor: headerValues(content, 'x-forwarded-for'),
			xForwardedTo: headerValues(content, 'x-forwarded-to'),
			resentFrom: headerValues(content, 'resent-from'),
			envelopeSender: result.envelope.mailFrom,
			envelopeRewrite: rewrite,
		},
		arcSealers: sealers,
		forwardingSigns: forwardingSigns(publicAddress, received, sealers, rewrite),
		auth: result.auth,
		verdict: { action: result.verdict.action, reasons: result.verdict.reasons, flags: result.verdict.flags },
		client: { ip: result.envelope.clientIp, helo: result.envelope.helo },
	};
}
