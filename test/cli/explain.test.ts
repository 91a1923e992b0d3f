import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { runCli as run } from '../support/cli';
import { compose, sign, testWorld } from '../fixtures/mail';


describe('hosted-inbox explain', () => {
	const dir = mkdtempSync(join(tmpdir(), 'explain-'));
	const world = testWorld();
	const inboxFile = join(dir, 'inbox.json');
	const zoneFile = join(dir, 'zone.json');
	writeFileSync(inboxFile, JSON.stringify({ address: 'support@inbox.example.test', internalDomains: ['company.test'] }));
	writeFileSync(zoneFile, JSON.stringify(world.zone));
	const file = (name: string, content: Buffer | string) => {
		writeFileSync(join(dir, name), content);
		return join(dir, name);
	};

	it('prints one JSON object and exits 0 for a rejected message, with the envelope it was given', async () => {
		const eml = file('reject.eml', await compose({ from: 'carol@customer.test', to: 'support@inbox.example.test', subject: 'x', text: 'y' }));
		const r = await run(['explain', eml, '--inbox', inboxFile, '--dns', zoneFile, '--client-ip', '203.0.113.9', '--helo', 'mx.customer.test', '--mail-from', 'carol@customer.test', '--rcpt', 'support@inbox.example.test', '--now', new Date().toISOString()]);
		expect(r.code).toBe(0);
		const out = JSON.parse(r.stdout);
		expect(out.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
		expect(out.envelope).toEqual({ clientIp: '203.0.113.9', helo: 'mx.customer.test', mailFrom: 'carol@customer.test', rcpt: ['support@inbox.example.test'] });
	});

	it('prints a readable summary with --human', async () => {
		const eml = file('ok.eml', await sign(await compose({ from: 'carol@customer.test', to: 'support@inbox.example.test', subject: 'x', text: 'y' }), world.customer));
		const r = await run(['explain', eml, '--inbox', inboxFile, '--dns', zoneFile, '--human']);
		expect(r.code).toBe(0);
		expect(r.stdout).toMatch(/^verdict: ACCEPT \(250 2\.0\.0\)/);
		expect(r.stdout).toContain('original sender: carol@customer.test via from-header');
	});

	it('DKIM expiry follows --now', async () => {
		const { dkimSign } = await import('mailauth');
		const raw = await compose({ from: 'carol@customer.test', to: 'support@inbox.example.test', subject: 'x', text: 'y' });
		const expires = new Date(Date.now() + 3_600_000);
		const signed = await dkimSign(raw, { expires, signTime: new Date(), signatureData: [{ signingDomain: 'customer.test', selector: 's1', privateKey: world.customer.privateKey }] } as never);
		const eml = file('expiring.eml', Buffer.concat([Buffer.from(signed.signatures), raw]));
		const now = JSON.parse((await run(['explain', eml, '--inbox', inboxFile, '--dns', zoneFile])).stdout);
		expect(now.auth.dkim.result).toBe('pass');
		const later = JSON.parse((await run(['explain', eml, '--inbox', inboxFile, '--dns', zoneFile, '--now', new Date(Date.now() + 7_200_000).toISOString()])).stdout);
		expect(later.auth.dkim.signatures[0]).toMatchObject({ result: 'neutral', comment: 'expired' });
		expect(later.verdict.action).toBe('reject');
	});

	it.each([
		['an empty file', () => file('empty.eml', ''), /input is empty/],
		['a binary file', () => file('binary.eml', Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4, 0]), randomBytes(2048)])), /binary/],
		['a missing file', () => join(dir, 'nope.eml'), /cannot read .*nope\.eml: ENOENT/],
	])('exits 2 with one line on stderr for %s', async (_label, path, message) => {
		const r = await run(['explain', path(), '--dns', zoneFile]);
		expect(r.code).toBe(2);
		expect(r.stdout).toBe('');
		expect(r.stderr.trim().split('\n')).toHaveLength(1);
		expect(r.stderr).toMatch(message);
	});

	it.each([
		[['--bogus'], /Unknown option '--bogus'/],
		[['--client-ip', 'not-an-ip'], /--client-ip "not-an-ip" is not an IP address/],
		[['--now', 'yesterday'], /--now "yesterday" is not an ISO-8601/],
		[['--inbox', '/nonexistent/inbox.json'], /cannot read inbox file/],
	])('exits 2 for a wrong option %j', async (extra, message) => {
		const eml = file('any.eml', 'From: a@b.test\r\n\r\nx\r\n');
		const r = await run(['explain', eml, '--dns', zoneFile, ...extra]);
		expect(r.code).toBe(2);
		expect(r.stderr.trim().split('\n')).toHaveLength(1);
		expect(r.stderr).toMatch(message);
	});

	it('exits 2 for an unknown command', async () => {
		expect((await run(['frobnicate'])).code).toBe(2);
	});
});
