import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadZoneFile, zoneResolver } from '../../core/dns';
import { parseInboxConfig } from '../../core/inbox';
import { buildIntakeEmission } from '../../core/workflow-delivery/emission';
import { runChecks } from '../../core/intake/pipeline';
import type { IntakeItem } from '../../core/item';
import { gate } from './gates';

/** The shared public corpus (real emails with their expected intake), next to the checkout. */
export const CORPUS = join(__dirname, '..', '..', '..', 'shared', 'corpus');
/** Tests that read the corpus, gated as gates.ts says (CI clones beside a copy of shared/). */
export const corpus = gate('the shared corpus', existsSync(join(CORPUS, 'manifest.json')) ? null : `no corpus at ${CORPUS}`);

interface ManifestEntry {
	file: string;
	inbox: string;
	dns: string;
	args?: { rcpt?: string; now?: string; clientIp?: string; helo?: string; mailFrom?: string };
}

/** The item the trigger would emit for a corpus email: the real intake pipeline with the case's inbox, zone and envelope. */
export async function corpusItem(file: string, inboxAddress?: string): Promise<IntakeItem> {
	const entry = (JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8')) as ManifestEntry[]).find((e) => e.file === file);
	if (!entry) throw new Error(`${file} is not in the corpus manifest`);
	const inbox = parseInboxConfig(JSON.parse(readFileSync(join(CORPUS, entry.inbox), 'utf8')));
	const args = entry.args ?? {};
	const { result, content } = await runChecks(readFileSync(join(CORPUS, entry.file)), {
		inbox,
		envelope: { clientIp: args.clientIp ?? null, helo: args.helo ?? null, mailFrom: args.mailFrom ?? null, rcpt: [args.rcpt ?? inbox.address] },
		resolver: zoneResolver(loadZoneFile(join(CORPUS, entry.dns))),
		...(args.now ? { now: new Date(args.now) } : {}),
	});
	const { item } = buildIntakeEmission(result, content, { inboxAddress: inboxAddress ?? inbox.address, via: 'smtp', receivedAt: new Date().toISOString() });
	return item;
}

/**
 * Builds an intake item of the documented shape (what the trigger emits for an accepted message),
 * for tests that start after the intake. Only what a test names differs from a plain direct email.
 */
export interface IntakeItemInput {
	inbox?: string;
	from?: string;
	fromName?: string;
	subject?: string;
	text?: string;
	messageId?: string | null;
	inReplyTo?: string[];
	references?: string[];
	to?: string[];
	cc?: string[];
	originalSender?: Partial<IntakeItem['originalSender']>;
	receivedAt?: string;
}

let counter = 0;

export function intakeItem(input: IntakeItemInput = {}): IntakeItem {
	counter += 1;
	const inbox = input.inbox ?? 'support@inbox.hosted.test';
	const from = input.from ?? 'customer@example.test';
	const messageId = input.messageId === undefined ? `m${counter}.${Date.now()}@example.test` : input.messageId;
	const text = input.text ?? `Hello, message ${counter}`;
	return {
		inbox: { address: inbox },
		via: 'smtp',
		receivedAt: input.receivedAt ?? new Date().toISOString(),
		kind: 'message',
		verdict: { action: 'accept', smtpCode: 250, enhancedCode: '2.0.0', reasons: ['authenticated: dmarc=pass'], flags: [] },
		originalSender: {
			address: from,
			name: input.fromName ?? null,
			method: 'from-header',
			forwardedBy: null,
			trusted: true,
			evidence: ['header From'],
			...input.originalSender,
		},
		thread: { messageId, inReplyTo: input.inReplyTo ?? [], references: input.references ?? input.inReplyTo ?? [] },
		size: text.length + 400,
		envelope: { clientIp: '127.0.0.1', helo: 'mail.example.test', mailFrom: from, rcpt: [inbox] },
		email: {
			subject: input.subject ?? `Question ${counter}`,
			from: { address: from, name: input.fromName ?? '' },
			to: (input.to ?? [inbox]).map((address) => ({ address, name: '' })),
			cc: (input.cc ?? []).map((address) => ({ address, name: '' })),
			replyTo: [],
			date: new Date().toUTCString(),
			text,
			html: null,
			attachments: [],
		},
		auth: {
			spf: { result: 'pass', domain: 'example.test', clientIp: '127.0.0.1', comment: null },
			dkim: { result: 'pass', signatures: [] },
			dmarc: { result: 'pass', domain: 'example.test', policy: 'none', comment: null },
			arc: { result: 'none', sealer: null, trusted: false, comment: null },
		},
	};
}

/** Google Groups rewrite: the list sends as "'Ana' via Group"; the intake named the poster (trusted or not). */
export function googleGroupsItem(poster: string, group: string, trusted = true, input: IntakeItemInput = {}): IntakeItem {
	const item = intakeItem({ ...input, from: group, originalSender: { address: poster, name: 'Original Poster', method: 'list-rewrite', forwardedBy: group, trusted, evidence: ['X-Original-From', trusted ? 'dkim aligned with the list domain' : 'list message not authenticated'] } });
	item.email.from = { address: group, name: `'Original Poster' via ${group.split('@')[0]}` };
	return item;
}

/** Manual forward by an (internal, authenticated) agent: the intake named the inline block's author. */
export function manualForwardItem(author: string, agent: string, input: IntakeItemInput = {}): IntakeItem {
	return intakeItem({ ...input, from: agent, subject: input.subject ?? 'Fwd: broken invoice', originalSender: { address: author, name: 'Author', method: 'inline-forward', forwardedBy: agent, trusted: true, evidence: ['inline forward block', 'outer sender internal and authenticated'] } });
}
