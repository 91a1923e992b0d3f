import { z } from 'zod';

import { isEmailAddress } from './address';

/**
 * Sealers whose mail flow only their operator runs (after mailauth's trust list): Gmail and Google Groups,
 * Fastmail, iCloud. Left out: services where anyone can open a tenant and shape what gets sealed (Microsoft 365,
 * Yahoo, Zoho, MailChannels, hosting and forwarding services); an inbox that forwards through one adds it.
 */
export const DEFAULT_TRUSTED_ARC_SEALERS = ['google.com', 'messagingengine.com', 'fastmail.com', 'fastmail.fm', 'icloud.com'];

/** Lists whose "'Name' via List" rewrite names a poster the list itself checked (with the list's own DKIM). */
export const DEFAULT_TRUSTED_LIST_DOMAINS = ['googlegroups.com'];

export const DEFAULT_MAX_MESSAGE_BYTES = 30 * 1024 * 1024;
export const DEFAULT_INTAKE_DEADLINE_SECONDS = 30;
/** A sender waits 10 minutes for the reply to its DATA (RFC 5321 4.5.3.2.6): a longer deadline would never be met. */
export const MAX_INTAKE_DEADLINE_SECONDS = 600;

/** Days an inbox keeps what it holds (0 = for ever): delivered raw messages, held mail, the intake log. */
export const DEFAULT_RETENTION = { deliveredRawDays: 30, quarantineDays: 30, intakeLogDays: 90 } as const;

const retentionDays = z.number().int().min(0);

const emailAddress = z.string().trim().toLowerCase().refine(isEmailAddress, 'must be an email address');
const domainName = z
	.string()
	.trim()
	.toLowerCase()
	.regex(/^[a-z0-9.-]+$/, 'must be a domain name');

/**
 * The inbox configuration: the one place where trust is set. The trigger node, the CLI (`--inbox`)
 * and every later node read it; none re-decides it.
 */
export const inboxConfigSchema = z.object({
	/** The hosted forwarding address (or the IMAP mailbox's address). */
	address: emailAddress,
	/** Domains whose senders are the team itself: a manual forward by them may name the original author. Exact: a subdomain counts only when listed. */
	internalDomains: z.array(domainName).default([]),
	/** Single internal addresses outside the internal domains (agents with personal mailboxes). */
	internalAddresses: z.array(emailAddress).default([]),
	/** ARC sealers whose passing chain rescues a DMARC failure caused by forwarding. */
	trustedArcSealers: z.array(domainName).default(DEFAULT_TRUSTED_ARC_SEALERS),
	/** List domains whose rewrite ("'Jane' via Support", X-Original-From) names a trusted poster when the list's DKIM passes. */
	trustedListDomains: z.array(domainName).default(DEFAULT_TRUSTED_LIST_DOMAINS),
	/** CIDR ranges of relays in front of the SMTP listener whose own Authentication-Results (by trustedAuthservIds) we read. */
	trustedRelays: z.array(z.string().trim()).default([]),
	/** authserv-ids whose topmost Authentication-Results count: a trusted relay's (SMTP) or the mailbox server's (IMAP). */
	trustedAuthservIds: z.array(z.string().trim().toLowerCase()).default([]),
	/** enforce: reject/quarantine per the sender's DMARC policy; monitor: accept everything, only flag. */
	dmarcPolicy: z.enum(['enforce', 'monitor']).default('enforce'),
	/** DNS trouble never rejects: accept and flag (default) or answer 451 so the sender retries. */
	onDnsError: z.enum(['accept', 'defer']).default('accept'),
	/**
	 * A From that is not exactly one mailbox (none, several, a group, no address) or a header section that
	 * cannot be read: the author is unknown, so quarantine (default) or refuse 550 5.7.1; never filed under the envelope sender.
	 */
	onMalformedFrom: z.enum(['quarantine', 'reject']).default('quarantine'),
	maxMessageBytes: z.number().int().positive().default(DEFAULT_MAX_MESSAGE_BYTES),
	/** Time one message may take in the intake (DNS waits included); past it the sender is answered 451 and retries. */
	intakeDeadlineSeconds: z.number().positive().max(MAX_INTAKE_DEADLINE_SECONDS).default(DEFAULT_INTAKE_DEADLINE_SECONDS),
	/** Purged once at activation and daily by the trigger, and by `hosted-inbox store purge`; 0 keeps that kind for ever. */
	retention: z
		.object({
			deliveredRawDays: retentionDays.default(DEFAULT_RETENTION.deliveredRawDays),
			quarantineDays: retentionDays.default(DEFAULT_RETENTION.quarantineDays),
			intakeLogDays: retentionDays.default(DEFAULT_RETENTION.intakeLogDays),
		})
		.default({}),
});

/**
 * How a message reached the intake: from an SMTP client, from the mailbox an IMAP server delivered it to, or posted
 * over HTTP by an authenticated relay (an MTA's pipe, an inbound provider's webhook).
 */
export type IntakeDoor = 'smtp' | 'imap' | 'http';

export type InboxConfig = z.infer<typeof inboxConfigSchema>;
export type InboxConfigInput = z.input<typeof inboxConfigSchema>;

/** Settings that do nothing on this door, said when the trigger starts (the intake log says it per message). */
export function inboxWarnings(inbox: InboxConfig, via: IntakeDoor): string[] {
	if (via !== 'smtp') return [];
	const warnings: string[] = [];
	if (inbox.trustedAuthservIds.length && !inbox.trustedRelays.length) {
		warnings.push(
			`Trusted Authentication-Results servers (${inbox.trustedAuthservIds.join(', ')}) are ignored without Trusted Relays: any SMTP client can write that header; add the IP ranges of the relays that write it`,
		);
	}
	if (inbox.trustedRelays.length && !inbox.trustedAuthservIds.length) {
		warnings.push(`Trusted Relays (${inbox.trustedRelays.join(', ')}) have no authserv-id: their Authentication-Results are not read until Trusted Authentication-Results Servers names it`);
	}
	return warnings;
}

export function parseInboxConfig(input: unknown): InboxConfig {
	const result = inboxConfigSchema.safeParse(input);
	if (!result.success) {
		const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
		throw new Error(`Invalid inbox configuration: ${problems.join('; ')}`);
	}
	return result.data;
}
