import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { replySubject } from '../../../core/outbound/subject';
import { compose, sign, testWorld } from '../../fixtures/mail';
import { runCli } from '../../support/cli';

/**
 * The attacks of the red-team review, each mounted through `hosted-inbox explain`. Before the fix each of these
 * held the process for seconds to minutes; now each must simply come back with its verdict.
 */
describe('hostile input through explain: bounded work, verdicts intact', () => {
	const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
	const world = testWorld();
	const zoneFile = join(dir, 'zone.json');
	writeFileSync(zoneFile, JSON.stringify(world.zone));
	const inboxFile = (name: string, settings: Record<string, unknown> = {}) => {
		const path = join(dir, `${name}.json`);
		writeFileSync(path, JSON.stringify({ address: 'support@inbox.example.test', internalDomains: ['company.test'], ...settings }));
		return path;
	};
	const enforce = inboxFile('enforce');
	const monitor = inboxFile('monitor', { dmarcPolicy: 'monitor' });
	let n = 0;
	async function explain(raw: Buffer, inbox = enforce) {
		const eml = join(dir, `m${++n}.eml`);
		writeFileSync(eml, raw);
		const r = await runCli(['explain', eml, '--inbox', inbox, '--dns', zoneFile]);
		expect(r).toMatchObject({ code: 0, stderr: '' });
		return JSON.parse(r.stdout);
	}
	const forward = (note: string) =>
		`${note}\n\n---------- Forwarded message ---------\nFrom: Carol Customer <carol@customer.test>\nSubject: Order late\nTo: agent@company.test\n\nWhere is my order?`;

	it('a forged Google confirmation with "a@a@a@…" in its subject and body is still read as one (code, no requester)', async () => {
		const raw = await compose({ from: 'forwarding-noreply@google.com', to: 'support@inbox.example.test', subject: `(#123456) ${'a@'.repeat(2000)}`, text: 'a@'.repeat(4096) });
		const r = await explain(raw);
		expect(r.kind).toBe('forwarding-confirmation');
		expect(r.verification).toMatchObject({ provider: 'google', code: '123456', requestedBy: null });
		expect(r.verdict.flags).toContain('verification-unauthenticated');
	});

	it('a Google confirmation still names who asked, among "a@a@" noise', async () => {
		const raw = await compose({ from: 'forwarding-noreply@google.com', to: 'support@inbox.example.test', subject: '(#123456) Gmail Forwarding Confirmation - Receive Mail from alex@company.test.', text: `${'a@'.repeat(4096)}\nalex@company.test has requested to automatically forward mail` });
		expect((await explain(raw)).verification).toMatchObject({ code: '123456', requestedBy: 'alex@company.test' });
	});

	it('whitespace runs in a forward from an internal-looking but unauthenticated From: the forward is reported, the From stands', async () => {
		const text = forward(`FYI\nFrom: ${' '.repeat(12_000)}x\n${' \n'.repeat(5_000)}${'\t'.repeat(8_000)}`);
		const raw = await compose({ from: 'agent@company.test', to: 'support@inbox.example.test', subject: 'Fwd: Order late', text });
		const r = await explain(raw, monitor);
		expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false });
		expect(r.verdict.flags).toContain('forward-ignored');
	});

	it('an authenticated insider whose forward note carries long whitespace runs still files the mail under the author', async () => {
		const text = forward(`FYI${' '.repeat(5_000)}\n${'\n'.repeat(5_000)}${'\u00a0\u2003 '.repeat(2_000)}\nsee below`);
		const raw = await sign(await compose({ from: 'agent@company.test', to: 'support@inbox.example.test', subject: 'Fwd: Order late', text }), world.company);
		expect((await explain(raw)).originalSender).toMatchObject({ address: 'carol@customer.test', method: 'inline-forward', trusted: true });
	});

	it('an authenticated insider cannot make the forward reader backtrack either (long lines of quotes and brackets, bare separators)', async () => {
		const lines = `On x, "${'a" <'.repeat(2000)}\n`.repeat(8) + '-----Original Message-----\nFrom: a\nTo: b\n'.repeat(500);
		const raw = await sign(await compose({ from: 'agent@company.test', to: 'support@inbox.example.test', subject: 'Fwd: x', text: lines }), world.company);
		expect((await explain(raw)).originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: true });
	});

	it(`a "' via a' via a…" display name and ">>>>" thread headers`, async () => {
		const raw = await compose({
			from: `"${"' via a".repeat(5_000)}" <list@lists.example.test>`,
			replyTo: 'carol@customer.test',
			to: 'support@inbox.example.test',
			subject: 'hello',
			text: 'hi',
			headers: { References: `<a@b> ${'>'.repeat(50_000)}x`, 'In-Reply-To': `<${'>'.repeat(50_000)}` },
		});
		const r = await explain(raw, monitor);
		expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'list-rewrite' });
		expect(r.thread.references[0]).toBe('a@b');
	});

	it('1 MB of HTML made of inline pieces without a space (mailparser\'s text of it wraps quadratically: 92 s) comes back with its text', async () => {
		const html = `<html><body>${'x<?>'.repeat(256 * 1024)}</body></html>`;
		const r = await explain(await compose({ from: 'Carol <carol@customer.test>', to: 'support@inbox.example.test', subject: 'pieces', html }), monitor);
		expect(r.kind).toBe('message');
		expect(r.message.text).toMatch(/^x{1000}/);
	}, 30_000);

	/** A message of the given extra header lines, plain text. */
	const headed = (...lines: string[]) =>
		Buffer.from(
			['From: Carol <carol@customer.test>', 'To: support@inbox.example.test', 'Subject: hello', 'Date: Mon, 7 Dec 2026 10:00:00 +0000', 'Message-ID: <x1@customer.test>', ...lines].join('\r\n') + '\r\n\r\nhi\r\n',
			'latin1',
		);

	it('signature and seal fields with 250 KB of ";" before b= (mailauth\'s canonicalization is quadratic on them: 48 s) are left unread', async () => {
		const run = ';'.repeat(250 * 1024);
		const dkim = await explain(headed(`DKIM-Signature: v=1; a=rsa-sha256; d=customer.test; s=s1; c=relaxed/relaxed; h=from; bh=x; ${run}x; b=y`), monitor);
		expect(dkim.auth.dkim.signatures).toContainEqual(expect.objectContaining({ result: 'policy', comment: expect.stringMatching(/^not verified: \d+ bytes long, more than any signer writes/) }));
		expect(dkim.verdict.flags).toContain('dkim-signatures-ignored');
		const arc = await explain(
			headed(
				`ARC-Seal: i=1; a=rsa-sha256; cv=none; d=forwarder.test; s=arc; t=1; ${run}x; b=y`,
				`ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=forwarder.test; s=arc; h=from; bh=x; ${run}x; b=y`,
				'ARC-Authentication-Results: i=1; forwarder.test; dmarc=pass header.from=customer.test',
			),
			monitor,
		);
		expect(arc.auth.arc.result).not.toBe('pass');
		expect(arc.kind).toBe('message');
	}, 30_000);

	it('ten signatures asking for ten body hashes (ten passes over the body: 25 MB took 12.6 s and 710 MB) get three', async () => {
		const signatures = Array.from({ length: 10 }, (_, i) => `DKIM-Signature: v=1; a=rsa-sha256; d=customer.test; s=s1; c=relaxed/relaxed; l=${i + 1}; h=from; bh=x; b=y`);
		const r = await explain(headed(...signatures), monitor);
		const left = r.auth.dkim.signatures.filter((signature: { result: string }) => signature.result === 'policy');
		expect(left).toHaveLength(7);
		expect(left[0].comment).toMatch(/its body hash would be the message's 4th \(at most 3 are computed\)/);
		expect(r.verdict.flags).toContain('dkim-signatures-ignored');
	}, 30_000);

	it('80 KB of carriage returns inside a header line (mailauth\'s header reading is quadratic on them) hold the message unauthenticated', async () => {
		const r = await explain(headed(`X-Note: a${'\r'.repeat(80 * 1024)}b`));
		expect(r.verdict).toMatchObject({ action: 'quarantine' });
		expect(r.verdict.flags).toContain('header-unreadable');
		expect(r.verdict.reasons.join(' ')).toContain(`${80 * 1024} carriage returns in a row`);
	}, 30_000);

	it("a From or Return-Path listing 30,000 addresses (mailauth's address parser is quadratic on them: 1.8 s) holds the message unauthenticated", async () => {
		const many = Array.from({ length: 30_000 }, (_, i) => `u${i}@x.test`).join(', ');
		// No MAIL FROM (a bounce, a mailbox): mailauth reads the Return-Path field instead.
		for (const raw of [Buffer.from(`From: ${many}\r\nTo: support@inbox.example.test\r\nSubject: many\r\n\r\nhi\r\n`), headed(`Return-Path: ${many}`)]) {
			const r = await explain(raw);
			expect(r.verdict).toMatchObject({ action: 'quarantine' });
			expect(r.verdict.flags).toContain('header-unreadable');
			expect(r.verdict.reasons.join(' ')).toMatch(/(From|Return-Path) field lists as many as 30000 addresses/);
			expect(r.auth).toBeNull();
		}
	}, 30_000);

	it('a reply subject of blanks is read once', () => {
		expect(replySubject(`Re:${' '.repeat(100_000)}x`)).toBe('Re: x');
		const noColon = `Re${' '.repeat(100_000)}x`;
		expect(replySubject(noColon)).toBe(`Re: ${noColon}`);
	});
});

describe('a refused message is not refined by its forward; a quarantined one is', () => {
	const dir = mkdtempSync(join(tmpdir(), 'refused-'));
	const world = testWorld();
	const zoneFile = join(dir, 'zone.json');
	writeFileSync(zoneFile, JSON.stringify(world.zone));
	const inbox = join(dir, 'inbox.json');
	writeFileSync(inbox, JSON.stringify({ address: 'support@inbox.example.test', internalDomains: ['company.test'] }));
	async function explain(raw: Buffer) {
		const eml = join(dir, `m${Math.random()}.eml`);
		writeFileSync(eml, raw);
		return JSON.parse((await runCli(['explain', eml, '--inbox', inbox, '--dns', zoneFile])).stdout);
	}

	it('a DMARC rejection carries its kind and the sender its headers name', async () => {
		const raw = await compose({ from: 'carol@customer.test', to: 'support@inbox.example.test', subject: 'Automatic reply: away', text: 'x', headers: { 'Auto-Submitted': 'auto-replied' } });
		const r = await explain(raw);
		expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
		expect(r).toMatchObject({ kind: 'auto-reply', originalSender: { address: 'carol@customer.test', method: 'from-header' } });
	});

	it('an unauthenticated insider refused by DMARC: its forward is not read (no forward-ignored either), its From stands', async () => {
		const text = 'FYI\n\n---------- Forwarded message ---------\nFrom: Carol <carol@customer.test>\nSubject: x\n\nhi';
		const r = await explain(await compose({ from: 'agent@company.test', to: 'support@inbox.example.test', subject: 'Fwd: x', text }));
		expect(r.verdict.action).toBe('reject');
		expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header' });
		expect(r.verdict.flags).not.toContain('forward-ignored');
	});

	it('a quarantined message runs every stage, so it can be released with its sender', async () => {
		const raw = await compose({ from: 'dana@quarantined.test', to: 'support@inbox.example.test', subject: 'Automatic reply: away', text: 'x', headers: { 'Auto-Submitted': 'auto-replied' } });
		const r = await explain(raw);
		expect(r.verdict.action).toBe('quarantine');
		expect(r.kind).toBe('auto-reply');
		expect(r.originalSender).toMatchObject({ address: 'dana@quarantined.test', method: 'from-header' });
	});
});
