import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

import { loadZoneFile, systemResolver, zoneResolver } from '../core/dns';
import { parseInboxConfig, type InboxConfig, type IntakeDoor } from '../core/inbox';
import { createIntakeDoor } from '../core/intake/door';
import type { IntakeResult } from '../core/intake/types';

export const EXPLAIN_USAGE =
	'hosted-inbox explain <file.eml | -> [--inbox inbox.json] [--dns zone.json] [--client-ip IP] [--helo NAME] [--mail-from ADDR] [--rcpt ADDR] [--now ISO-8601] [--via smtp|imap] [--human]';

/** Without --inbox: defaults for everything, the address taken from --rcpt when given. */
const FALLBACK_INBOX_ADDRESS = 'inbox@hosted-inbox.invalid';

/** Bad options or unreadable input: exit 2 with one line. */
class UsageError extends Error {}

function usage<T>(fn: () => T, describe: (error: Error) => string): T {
	let problem: string | null = null;
	let value: T | undefined;
	try {
		value = fn();
	} catch (error) {
		problem = describe(error as Error);
	}
	if (problem !== null) throw new UsageError(problem);
	return value as T;
}

async function readInput(path: string): Promise<Buffer> {
	if (path !== '-') {
		return usage(() => readFileSync(path), (e) => `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
	}
	const chunks: Buffer[] = [];
	for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

function loadInbox(path: string | undefined, rcpt: string | undefined): InboxConfig {
	if (!path) return parseInboxConfig({ address: rcpt ?? FALLBACK_INBOX_ADDRESS });
	const json: unknown = usage(() => JSON.parse(readFileSync(path, 'utf8')), (e) => `cannot read inbox file ${path}: ${e.message}`);
	return usage(() => parseInboxConfig(json), (e) => `${path}: ${e.message}`);
}

function loadZone(path: string) {
	return usage(() => loadZoneFile(path), (e) => e.message);
}

function parseOptions(args: string[]) {
	const { values, positionals } = parseArgs({
		args,
		allowPositionals: true,
		strict: true,
		options: {
			inbox: { type: 'string' },
			dns: { type: 'string' },
			'client-ip': { type: 'string' },
			helo: { type: 'string' },
			'mail-from': { type: 'string' },
			rcpt: { type: 'string', multiple: true },
			now: { type: 'string' },
			via: { type: 'string' },
			human: { type: 'boolean' },
		},
	});
	if (positionals.length !== 1) throw new UsageError(`expected one message file or "-"; usage: ${EXPLAIN_USAGE}`);
	const clientIp = values['client-ip'];
	if (clientIp !== undefined && !isIP(clientIp)) throw new UsageError(`--client-ip "${clientIp}" is not an IP address`);
	let now: Date | undefined;
	if (values.now !== undefined) {
		now = new Date(values.now);
		if (!/^\d{4}-\d{2}-\d{2}/.test(values.now) || Number.isNaN(now.getTime())) {
			throw new UsageError(`--now "${values.now}" is not an ISO-8601 date-time`);
		}
	}
	const via = values.via ?? 'smtp';
	if (via !== 'smtp' && via !== 'imap') throw new UsageError(`--via "${via}" is not smtp or imap`);
	return { file: positionals[0], values, clientIp, now, via: via as IntakeDoor };
}

/** The readable form of --human: the verdict first, then who the message belongs to and why. */
export function humanSummary(r: IntakeResult): string {
	const lines = [
		`verdict: ${r.verdict.action.toUpperCase()} (${r.verdict.smtpCode} ${r.verdict.enhancedCode})`,
		...r.verdict.reasons.map((reason) => `  - ${reason}`),
		`flags: ${r.verdict.flags.join(', ') || 'none'}`,
		`kind: ${r.kind}`,
	];
	if (r.verification) {
		lines.push(`verification: ${r.verification.provider} code=${r.verification.code ?? '-'} confirm=${r.verification.confirmUrl ?? '-'} requested by ${r.verification.requestedBy ?? '-'}`);
	}
	const s = r.originalSender;
	if (s) {
		lines.push(`original sender: ${s.name ? `${s.name} <${s.address}>` : (s.address ?? '(none)')} via ${s.method}${s.forwardedBy ? `, forwarded by ${s.forwardedBy}` : ''}, ${s.trusted ? 'trusted' : 'NOT trusted'}`);
		lines.push(...s.evidence.map((e) => `  - ${e}`));
	}
	if (r.auth) {
		lines.push(`auth: spf=${r.auth.spf.result} dkim=${r.auth.dkim.result} dmarc=${r.auth.dmarc.result}${r.auth.dmarc.policy ? ` (p=${r.auth.dmarc.policy})` : ''} arc=${r.auth.arc.result}${r.auth.arc.sealer ? ` (${r.auth.arc.sealer}${r.auth.arc.trusted ? ', trusted' : ''})` : ''}`);
	}
	lines.push(`thread: message-id=${r.thread.messageId ?? '-'} in-reply-to=${r.thread.inReplyTo.join(' ') || '-'} references=${r.thread.references.length}`);
	lines.push(`size: ${r.size} bytes`);
	return `${lines.join('\n')}\n`;
}

/** `hosted-inbox explain`: one JSON object (or --human text), exit 0 whatever the verdict, 2 for bad input. */
export async function explainCommand(args: string[]): Promise<number> {
	try {
		const { file, values, clientIp, now, via } = parseOptions(args);
		const rcpt = values.rcpt ?? [];
		const inbox = loadInbox(values.inbox, rcpt[0]);
		const resolver = values.dns ? zoneResolver(loadZone(values.dns)) : systemResolver();
		const raw = await readInput(file);
		const decision = await createIntakeDoor({ door: 'cli', as: via, inbox, resolver })({
			raw,
			envelope: { clientIp: clientIp ?? null, helo: values.helo ?? null, mailFrom: values['mail-from'] ?? null, rcpt },
			receivedAt: now,
		});
		// Not an email: bad input, as an unreadable file is.
		if (decision.outcome === 'not-an-email') throw new UsageError(decision.problem);
		const { result } = decision.message;
		process.stdout.write(values.human ? humanSummary(result) : `${JSON.stringify(result, null, 2)}\n`);
		return 0;
	} catch (error) {
		const known = error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
		process.stderr.write(`hosted-inbox explain: ${known ? '' : 'internal error: '}${(error as Error).message.split('\n')[0]}\n`);
		return known ? 2 : 1;
	}
}
