import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadZoneFile, zoneResolver } from '../core/dns';
import { parseInboxConfig } from '../core/inbox';
import { runChecks } from '../core/intake/pipeline';
import { CORPUS, corpus } from './support/items';


interface Case {
	file: string;
	inbox?: string;
	dns?: string;
	args?: { clientIp?: string; helo?: string; mailFrom?: string; rcpt?: string; now?: string };
	expect: Record<string, unknown>;
}

const ADDRESS_KEYS = new Set(['address', 'requestedBy', 'forwardedBy']);
const normAddr = (v: unknown) => (typeof v === 'string' ? (/<([^<>]*)>\s*$/.exec(v)?.[1] ?? v).trim().toLowerCase() : v);

/** The comparison rules of the corpus README: only expected fields, addresses case-insensitive, null = absent. */
function differences(expected: unknown, actual: unknown, path: string): string[] {
	if (expected !== null && typeof expected === 'object') {
		if (!actual || typeof actual !== 'object') return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
		return Object.entries(expected).flatMap(([k, v]) => differences(v, (actual as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
	}
	const key = path.split('.').pop() ?? '';
	const ok = expected === null ? actual === null || actual === undefined : ADDRESS_KEYS.has(key) ? normAddr(actual) === normAddr(expected) : actual === expected;
	return ok ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

/**
 * Where this product answers otherwise, on purpose. Outlook's "A on behalf of B" names A from a Sender header (or a
 * display name) that the outside sender writes: on a shared domain (gmail.com) anyone can be B and name any A. The
 * corpus files these under A, trusted; here no author is believed and the mail stays under the forwarding team
 * member, untrusted, flagged forward-author-ambiguous (docs/security.md, "Original sender and trust").
 */
const ON_BEHALF_OF = { originalSender: { address: 'agent@company.test', method: 'from-header', trusted: false } };
const DELIBERATE: Record<string, Record<string, unknown>> = {
	'crisp-forwards/outlook_live_en_body_variant_9.eml': ON_BEHALF_OF,
	'crisp-forwards/outlook_live_en_body_variant_10.eml': ON_BEHALF_OF,
};

corpus.describe('shared corpus (../shared/corpus/manifest.json)', () => {
	const cases: Case[] = JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8'));
	it.each(cases.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
		const inbox = parseInboxConfig(JSON.parse(readFileSync(join(CORPUS, c.inbox ?? 'inbox.json'), 'utf8')));
		const resolver = zoneResolver(c.dns ? loadZoneFile(join(CORPUS, c.dns)) : {});
		const a = c.args ?? {};
		const { result } = await runChecks(readFileSync(join(CORPUS, c.file)), {
			inbox,
			resolver,
			now: a.now ? new Date(a.now) : undefined,
			envelope: { clientIp: a.clientIp ?? null, helo: a.helo ?? null, mailFrom: a.mailFrom ?? null, rcpt: a.rcpt ? [a.rcpt] : [] },
		});
		expect(differences({ ...c.expect, ...DELIBERATE[c.file] }, result, '')).toEqual([]);
		if (DELIBERATE[c.file]) expect(result.verdict.flags).toContain('forward-author-ambiguous');
	});
});
