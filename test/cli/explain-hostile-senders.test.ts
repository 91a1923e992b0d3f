/**
 * Hostile senders (issue #13), mounted through `hosted-inbox explain` with zones written here:
 * DNS errors that must not rescue a DMARC failure, From headers that name no single author,
 * header sections the parser cannot read, and a flood of DKIM signatures.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimSign } from 'mailauth';

import type { Zone } from '../../core/dns';
import type { IntakeResult } from '../../core/intake/types';
import { runCli } from '../support/cli';
import { compose, makeKey, sign, testWorld, zoneOf } from '../fixtures/mail';

const INBOX = 'support@inbox.example.test';
const ATTACKER_IP = '203.0.113.9';

describe('explain: hostile senders', () => {
	const dir = mkdtempSync(join(tmpdir(), 'explain-hostile-'));
	const world = testWorld();
	const attacker = makeKey('attacker.test');
	let files = 0;
	const write = (content: Buffer | string) => {
		const path = join(dir, `f${files++}`);
		writeFileSync(path, content);
		return path;
	};
	const inboxFile = (settings: Record<string, unknown> = {}) => write(JSON.stringify({ address: INBOX, internalDomains: ['company.test'], ...settings }));

	async function explain(raw: Buffer | string, zone: Zone, options: { mailFrom?: string; inbox?: Record<string, unknown> } = {}): Promise<IntakeResult> {
		const args = ['explain', write(raw), '--inbox', inboxFile(options.inbox), '--dns', write(JSON.stringify(zone)), '--client-ip', ATTACKER_IP, '--helo', 'mx.attacker.test', '--rcpt', INBOX];
		if (options.mailFrom) args.push('--mail-from', options.mailFrom);
		const r = await runCli(args);
		expect(r.stderr).toBe('');
		expect(r.code).toBe(0);
		return JSON.parse(r.stdout) as IntakeResult;
	}

	/** carol@customer.test (p=reject, SPF -all) spoofed from the attacker's IP. */
	const spoof = () => compose({ from: 'Carol <carol@customer.test>', to: INBOX, subject: 'Invoice', text: 'Please pay.' });
	const broken = (...names: string[]): Zone => Object.fromEntries(names.map((name) => [name, { error: 'ESERVFAIL' as const }]));

	describe('DNS errors rescue DMARC only where an answer could have made it pass', () => {
		it("stays 550 5.7.1 when the attacker's own DKIM d= domain answers SERVFAIL", async () => {
			const raw = await sign(await spoof(), attacker);
			const r = await explain(raw, zoneOf(world.zone, broken('s1._domainkey.attacker.test')), { mailFrom: 'carol@customer.test' });
			expect(r.auth?.dkim.signatures[0]).toMatchObject({ domain: 'attacker.test', result: 'temperror', aligned: false });
			expect(r.auth?.dmarc).toMatchObject({ result: 'fail', policy: 'reject' });
			expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 550, enhancedCode: '5.7.1' });
			expect(r.verdict.flags).toEqual(expect.arrayContaining(['dmarc-fail', 'dns-error']));
			expect(r.verdict.reasons.join(' ')).toContain('DKIM key lookup for s1._domainkey.attacker.test failed temporarily');
		});

		it("stays 550 5.7.1 when the attacker's own MAIL FROM domain answers SERVFAIL, and with both at once", async () => {
			const zone = zoneOf(world.zone, broken('attacker.test', 's1._domainkey.attacker.test'));
			const viaSpf = await explain(await spoof(), zone, { mailFrom: 'bounce@attacker.test' });
			expect(viaSpf.auth?.spf).toMatchObject({ result: 'temperror', domain: 'attacker.test' });
			expect(viaSpf.auth?.dmarc.result).toBe('fail');
			expect(viaSpf.verdict).toMatchObject({ action: 'reject', smtpCode: 550, enhancedCode: '5.7.1' });

			const both = await explain(await sign(await spoof(), attacker), zone, { mailFrom: 'bounce@attacker.test', inbox: { onDnsError: 'defer' } });
			expect(both.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
		});

		it('is a temporary error when _dmarc of the From domain answers SERVFAIL: accepted and flagged, or 451 with onDnsError: defer', async () => {
			const zone = zoneOf(world.zone, broken('_dmarc.customer.test'));
			const accepted = await explain(await spoof(), zone, { mailFrom: 'carol@customer.test' });
			expect(accepted.auth?.dmarc.result).toBe('temperror');
			expect(accepted.verdict.action).toBe('accept');
			expect(accepted.verdict.flags).toContain('dns-error');
			expect(accepted.verdict.reasons.join(' ')).toContain('DMARC record lookup for _dmarc.customer.test failed temporarily');

			const deferred = await explain(await spoof(), zone, { mailFrom: 'carol@customer.test', inbox: { onDnsError: 'defer' } });
			expect(deferred.verdict).toMatchObject({ action: 'defer', smtpCode: 451, enhancedCode: '4.7.0' });
		});

		it.each([
			['a DKIM key of the From domain', 's1._domainkey.customer.test', 'ETIMEOUT', true],
			['the SPF record of an aligned MAIL FROM domain', 'customer.test', 'ECONNREFUSED', false],
		])('is a temporary error when %s fails (%s %s): its answer could have made DMARC pass', async (_what, name, code, signed) => {
			const raw = signed ? await sign(await spoof(), world.customer) : await spoof();
			const r = await explain(raw, zoneOf(world.zone, { [name]: { error: code as 'ETIMEOUT' } }), { mailFrom: 'carol@customer.test', inbox: { onDnsError: 'defer' } });
			expect(r.auth?.dmarc.result).toBe('temperror');
			expect(r.auth?.dmarc.comment).toMatch(/^fails unless these lookups would have passed: /);
			expect(r.verdict).toMatchObject({ action: 'defer', smtpCode: 451 });
		});
	});

	describe('a From that is not exactly one mailbox is held, never filed under MAIL FROM', () => {
		const head = (from: string) => `${from}\r\nTo: ${INBOX}\r\nSubject: Wire transfer\r\nMessage-ID: <odd-${files}@attacker.test>\r\n\r\nPlease wire the money today.\r\n`;

		it.each([
			['two mailboxes', 'From: CEO <ceo@company.test>, Carol <carol@customer.test>', 'names 2 mailboxes'],
			['two From headers', 'From: ceo@company.test\r\nFrom: carol@customer.test', 'has 2 From headers'],
			['group syntax', 'From: Board: CEO <ceo@company.test>;', 'is a group, not a mailbox'],
			['no address', 'From: The Chief Executive', 'holds no usable address'],
			// mailparser decodes the encoded word into ceo@company.test; DMARC reads no domain in it at all.
			['an address written as an encoded word', 'From: =?utf-8?q?CEO?= <=?utf-8?q?ceo=40company.test?=>', 'names ceo@company.test only once decoded'],
			['no From at all', 'Sender: ceo@company.test', 'has no From header'],
		])('%s: quarantined, flagged, filed under no contact', async (_label, from, problem) => {
			const r = await explain(head(from), world.zone, { mailFrom: 'carol@customer.test' });
			expect(r.verdict).toMatchObject({ action: 'quarantine', smtpCode: 250 });
			expect(r.verdict.flags).toContain('from-not-one-mailbox');
			expect(r.verdict.reasons[0]).toContain(problem);
			expect(r.verdict.reasons[0]).toContain('never under the envelope sender');
			expect(r.originalSender).toMatchObject({ address: null, trusted: false });
			expect(r.message?.from).toBeNull();
			// SPF -all fails for the envelope sender: it is not who the message is filed under either.
			expect(r.auth?.spf.result).toBe('fail');
		});

		it('refuses 550 5.7.1 with onMalformedFrom: reject', async () => {
			const r = await explain(head('From: Board: CEO <ceo@company.test>;'), world.zone, { mailFrom: 'bounce@attacker.test', inbox: { onMalformedFrom: 'reject' } });
			expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 550, enhancedCode: '5.7.1' });
			expect(r.verdict.reasons[0]).toContain('inbox onMalformedFrom: reject');
		});

		it('holds a header section the parser cannot read (17,000 header lines), unauthenticated and filed under no contact', async () => {
			const filler = Array.from({ length: 17_000 }, (_, i) => `X-Filler-${i}: x`).join('\r\n');
			const r = await explain(`From: Carol <carol@customer.test>\r\n${filler}\r\n${head(`To: ${INBOX}`)}`, world.zone, { mailFrom: 'bounce@attacker.test' });
			expect(r.verdict).toMatchObject({ action: 'quarantine', smtpCode: 250 });
			expect(r.verdict.flags).toContain('header-unreadable');
			expect(r.verdict.reasons[0]).toContain('the header section cannot be read');
			expect(r.verdict.reasons).toContain('authentication not checked: the header section cannot be read');
			expect(r.auth).toBeNull();
			expect(r.originalSender).toBeNull();
			expect(r.message).toBeNull();
		});
	});

	it('verifies at most 10 of 30 DKIM signatures, those aligned with From first', async () => {
		// 29 signatures of another domain above the author's own: the author's is among the 10 verified.
		const selectors = Array.from({ length: 29 }, (_, i) => `l${i}`);
		const listRecord = world.list.zone[`s1._domainkey.${world.list.domain}`];
		const listZone: Zone = Object.fromEntries(selectors.map((s) => [`${s}._domainkey.${world.list.domain}`, listRecord]));
		const authored = await sign(await spoof(), world.customer);
		const flood = await dkimSign(authored, {
			canonicalization: 'relaxed/relaxed',
			signTime: new Date(),
			signatureData: selectors.map((selector) => ({ signingDomain: world.list.domain, selector, privateKey: world.list.privateKey })),
		} as Parameters<typeof dkimSign>[1]);
		const raw = Buffer.concat([Buffer.from(flood.signatures), authored]);

		const r = await explain(raw, zoneOf(world.zone, listZone), { mailFrom: 'carol@customer.test' });
		const signatures = r.auth?.dkim.signatures ?? [];
		expect(signatures).toHaveLength(30);
		const verified = signatures.filter((s) => s.result !== 'policy');
		expect(verified).toHaveLength(10);
		expect(verified.every((s) => s.result === 'pass')).toBe(true);
		expect(verified).toContainEqual(expect.objectContaining({ domain: 'customer.test', aligned: true }));
		const ignored = signatures.filter((s) => s.result === 'policy');
		expect(ignored).toHaveLength(20);
		expect(ignored[0].comment).toBe('not verified: at most 10 signatures are checked per message (RFC 6376 §6.1)');
		expect(r.verdict.flags).toContain('dkim-signatures-ignored');
		expect(r.verdict.reasons.join(' ')).toContain('20 of 30 DKIM signatures were not verified');
		expect(r.auth?.dmarc.result).toBe('pass');
		expect(r.verdict.action).toBe('accept');
	});
});
