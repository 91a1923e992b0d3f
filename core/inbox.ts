import { z } from 'zod';

/** mailauth's own list of ARC sealers it trusts, plus the big forwarders named in the design notes. */
export const DEFAULT_TRUSTED_ARC_SEALERS = [
	'google.com',
	'microsoft.com',
	'outlook.com',
	'office365.com',
	'messagingengine.com',
	'fastmail.com',
	'zoho.com',
	'yahoo.com',
	'icloud.com',
	'mailchannels.net',
];

export const DEFAULT_MAX_MESSAGE_BYTES = 30 * 1024 * 1024;

const emailAddress = z.string().trim().toLowerCase().email();
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
	/** Domains whose senders are the team itself: a manual forward by them may name the original author. */
	internalDomains: z.array(domainName).default([]),
	/** Single internal addresses outside the internal domains (agents with personal mailboxes). */
	internalAddresses: z.array(emailAddress).default([]),
	/** ARC sealers whose passing chain rescues a DMARC failure caused by forwarding. */
	trustedArcSealers: z.array(domainName).default(DEFAULT_TRUSTED_ARC_SEALERS),
	/** CIDR ranges of relays that do not ARC-seal but whose Authentication-Results we trust. */
	trustedRelays: z.array(z.string().trim()).default([]),
	/** authserv-id of the server whose Authentication-Results to trust (IMAP mode: no client IP). */
	trustedAuthservIds: z.array(z.string().trim().toLowerCase()).default([]),
	/** enforce: reject/quarantine per the sender's DMARC policy; monitor: accept everything, only flag. */
	dmarcPolicy: z.enum(['enforce', 'monitor']).default('enforce'),
	/** DNS trouble never rejects: accept and flag (default) or answer 451 so the sender retries. */
	onDnsError: z.enum(['accept', 'defer']).default('accept'),
	maxMessageBytes: z.number().int().positive().default(DEFAULT_MAX_MESSAGE_BYTES),
});

export type InboxConfig = z.infer<typeof inboxConfigSchema>;
export type InboxConfigInput = z.input<typeof inboxConfigSchema>;

export function parseInboxConfig(input: unknown): InboxConfig {
	const result = inboxConfigSchema.safeParse(input);
	if (!result.success) {
		const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
		throw new Error(`Invalid inbox configuration: ${problems.join('; ')}`);
	}
	return result.data;
}
