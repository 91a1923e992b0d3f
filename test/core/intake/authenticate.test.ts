import { dkimSign } from 'mailauth';

import { arcSeal, compose, makeKey, rewriteHeader, sign, testInbox, testWorld, zoneOf } from '../../fixtures/mail';
import { explain } from '../../fixtures/intake';
import type { Zone } from '../../../core/dns';

const world = testWorld();
const customerMail = () =>
	compose({ from: 'Carol <carol@customer.test>', to: 'support@inbox.example.test', subject: 'Order late', text: 'Where is my order?' });

describe('authenticate stage: DMARC policy per inbox', () => {
	it('accepts a message whose DKIM aligns (dmarc=pass)', async () => {
		const raw = await sign(await customerMail(), world.customer);
		const r = await explain(raw, testInbox(), world.zone, { clientIp: '203.0.113.9', mailFrom: 'carol@customer.test' });
		expect(r.verdict.action).toBe('accept');
		expect(r.auth?.dmarc.result).toBe('pass');
		expect(r.auth?.dkim.signatures[0]).toMatchObject({ domain: 'customer.test', result: 'pass', aligned: true });
		expect(r.auth?.spf).toMatchObject({ result: 'fail', clientIp: '203.0.113.9', domain: 'customer.test' });
	});

	it('holds a passing signature to what it signs: none that leaves From unsigned, none whose l= leaves appended text unsigned', async () => {
		const env = { clientIp: '203.0.113.9', mailFrom: 'carol@customer.test' };
		// RFC 6376 §6.1.1: a signature whose h= leaves out From is ignored (mailauth 4.13 passes it): the From could be anyone's.
		const fromUnsigned = await explain(await sign(await customerMail(), world.customer, 'to:subject:date:message-id'), testInbox(), world.zone, env);
		expect(fromUnsigned.auth?.dkim.signatures[0]).toMatchObject({ domain: 'customer.test', result: 'permerror', comment: expect.stringContaining('does not sign From') });
		expect(fromUnsigned.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
		// l= signs the first bytes of the body: whatever follows them anyone may have appended (a message of the victim's
		// with the attacker's text after it).
		const limited = async (raw: Buffer, maxBodyLength: number) => {
			const { signatures } = await dkimSign(raw, {
				canonicalization: 'relaxed/relaxed',
				algorithm: 'rsa-sha256',
				signTime: new Date(),
				signatureData: [{ signingDomain: world.customer.domain, selector: world.customer.selector, privateKey: world.customer.privateKey, maxBodyLength }],
			} as Parameters<typeof dkimSign>[1]);
			return Buffer.concat([Buffer.from(signatures), raw]);
		};
		const whole = await customerMail();
		const wholeSigned = await explain(await limited(whole, 1 << 20), testInbox(), world.zone, env);
		expect(wholeSigned.auth?.dkim.signatures[0]).toMatchObject({ result: 'pass', aligned: true });
		expect(wholeSigned.verdict.action).toBe('accept');
		const appended = await explain(Buffer.concat([await limited(whole, 10), Buffer.from('PS: pay into IBAN XX00 ATTACKER.\r\n')]), testInbox(), world.zone, env);
		expect(appended.auth?.dkim.signatures[0]).toMatchObject({ result: 'neutral', comment: expect.stringMatching(/l= leaves \d+ bytes of the body unsigned/) });
		expect(appended.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
	});

	it('rejects 550 5.7.1 a p=reject failure and says what failed', async () => {
		const raw = await customerMail();
		const r = await explain(raw, testInbox(), world.zone, { clientIp: '203.0.113.9', mailFrom: 'carol@customer.test' });
		expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 550, enhancedCode: '5.7.1' });
		expect(r.verdict.reasons[0]).toContain('dmarc=fail (p=reject) for customer.test: no DKIM signature');
		expect(r.verdict.reasons[0]).toContain('SPF checked 203.0.113.9 against customer.test: fail');
		expect(r.verdict.flags).toContain('dmarc-fail');
	});

	it('names an unaligned signature in the reason', async () => {
		const raw = await sign(await customerMail(), world.company);
		const r = await explain(raw, testInbox(), world.zone, { clientIp: '203.0.113.9', mailFrom: 'carol@customer.test' });
		expect(r.verdict.action).toBe('reject');
		expect(r.verdict.reasons[0]).toContain('no DKIM signature aligned with customer.test (found d=company.test s=s1: pass)');
	});

	it('quarantines a p=quarantine failure', async () => {
		const raw = await compose({ from: 'q@quarantined.test', to: 'support@inbox.example.test', subject: 'x', text: 'y' });
		const r = await explain(raw, testInbox(), world.zone, { clientIp: '203.0.113.9', mailFrom: 'q@quarantined.test' });
		expect(r.verdict.action).toBe('quarantine');
	});

	it('accepts a DMARC failure rescued by a trusted ARC sealer, but not by an untrusted one', async () => {
		const signed = await sign(await customerMail(), world.customer);
		const altered = rewriteHeader(signed, 'Subject', (s) => `[fwd] ${s}`);
		const sealed = await arcSeal(altered, world.forwarder, 'forwarder.test; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test');
		const envelope = { clientIp: '203.0.113.50', mailFrom: 'bounce@forwarder.test' };
		const rescued = await explain(sealed, testInbox(), world.zone, envelope);
		expect(rescued.auth?.dmarc.result).toBe('fail');
		expect(rescued.auth?.arc).toMatchObject({ result: 'pass', sealer: 'forwarder.test', trusted: true });
		expect(rescued.verdict.action).toBe('accept');
		expect(rescued.verdict.flags).toContain('dmarc-fail-arc-rescued');

		const untrusted = await explain(sealed, testInbox({ trustedArcSealers: ['google.com'] }), world.zone, envelope);
		expect(untrusted.verdict.action).toBe('reject');
		expect(untrusted.verdict.reasons[0]).toContain('forwarder.test is not in this inbox\'s trustedArcSealers');
	});

	it('rescues DMARC only when a trusted seal recorded that the From domain authenticated', async () => {
		const altered = rewriteHeader(await sign(await customerMail(), world.customer), 'Subject', (s) => `[fwd] ${s}`);
		const envelope = { clientIp: '203.0.113.50', mailFrom: 'bounce@forwarder.test' };
		const verdictOf = async (raw: Buffer, inbox = testInbox()) => (await explain(raw, inbox, world.zone, envelope)).verdict;

		// The trusted sealer itself saw the failure: its seal vouches for nothing.
		const failed = await verdictOf(await arcSeal(altered, world.forwarder, 'forwarder.test; dkim=fail header.d=customer.test; dmarc=fail header.from=customer.test'));
		expect(failed.action).toBe('reject');
		expect(failed.reasons[0]).toContain('no trusted seal recorded dmarc=pass or an aligned DKIM/SPF pass');
		// A pass for another domain (the attacker's own) vouches nothing for the From domain.
		expect((await verdictOf(await arcSeal(altered, world.forwarder, 'forwarder.test; dkim=pass header.d=attacker.test; dmarc=pass header.from=attacker.test'))).action).toBe('reject');
		// An aligned DKIM or SPF pass on receipt is enough.
		expect((await verdictOf(await arcSeal(altered, world.forwarder, 'forwarder.test; dkim=pass header.i=@customer.test'))).action).toBe('accept');
		expect((await verdictOf(await arcSeal(altered, world.forwarder, 'forwarder.test; spf=pass smtp.mailfrom=carol@customer.test'))).action).toBe('accept');

		// Two hops: the newest trusted set saw the broken mail, the older trusted set saw it pass (Gmail forwarding twice).
		const hop = makeKey('hop.test', 'arc');
		const zone = zoneOf(world.zone, hop.zone);
		const first = await arcSeal(altered, world.forwarder, 'forwarder.test; dmarc=pass header.from=customer.test');
		const twice = await arcSeal(first, hop, 'hop.test; dmarc=fail header.from=customer.test');
		const both = testInbox({ trustedArcSealers: ['forwarder.test', 'hop.test'] });
		const rescued = await explain(twice, both, zone, envelope);
		expect(rescued.verdict.action).toBe('accept');
		expect(rescued.auth?.arc.vouch).toContain('i=1 sealed by forwarder.test');
		// The older pass counts only through trusted sets from the newest down.
		expect((await explain(twice, testInbox({ trustedArcSealers: ['forwarder.test'] }), zone, envelope)).verdict.action).toBe('reject');
		const overUntrusted = await arcSeal(await arcSeal(altered, hop, 'hop.test; dmarc=pass header.from=customer.test'), world.forwarder, 'forwarder.test; dmarc=fail header.from=customer.test');
		expect((await explain(overUntrusted, testInbox(), zone, envelope)).verdict.action).toBe('reject');
	});

	it('monitor mode only flags', async () => {
		const r = await explain(await customerMail(), testInbox({ dmarcPolicy: 'monitor' }), world.zone, { clientIp: '203.0.113.9' });
		expect(r.verdict.action).toBe('accept');
		expect(r.verdict.flags).toEqual(expect.arrayContaining(['dmarc-fail', 'monitor-mode', 'would-reject']));
	});

	it("trusts a relay's Authentication-Results only from a trusted relay IP, and only under the relay's own authserv-id", async () => {
		const stamp = (id: string) =>
			`Authentication-Results: ${id}; spf=pass smtp.mailfrom=customer.test; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test\r\n`;
		const raw = Buffer.concat([Buffer.from(stamp('relay.company.test')), await customerMail()]);
		const inbox = testInbox({ trustedRelays: ['192.0.2.64/26'], trustedAuthservIds: ['relay.company.test'] });
		const relayed = await explain(raw, inbox, world.zone, { clientIp: '192.0.2.70' });
		expect(relayed.verdict.action).toBe('accept');
		expect(relayed.verdict.flags).toContain('dmarc-fail-relay-rescued');
		const stranger = await explain(raw, inbox, world.zone, { clientIp: '203.0.113.9' });
		expect(stranger.verdict.action).toBe('reject');
		expect(stranger.verdict.flags).toContain('authentication-results-ignored');
		// The relay passed on a header it did not write (another id on top): not the relay's own.
		const unstamped = Buffer.concat([Buffer.from(stamp('mx.customer.test')), await customerMail()]);
		expect((await explain(unstamped, inbox, world.zone, { clientIp: '192.0.2.70' })).verdict.action).toBe('reject');
		// A relay range without an authserv-id reads no Authentication-Results at all.
		expect((await explain(raw, testInbox({ trustedRelays: ['192.0.2.64/26'] }), world.zone, { clientIp: '192.0.2.70' })).verdict.action).toBe('reject');
	});

	it('over IMAP trusts the mailbox server\'s authserv-id in the topmost Authentication-Results only; over SMTP any client could write it', async () => {
		const header = (id: string, dmarc: string) => `Authentication-Results: ${id}; spf=pass smtp.mailfrom=customer.test; dmarc=${dmarc} header.from=customer.test\r\n`;
		const inbox = testInbox({ trustedAuthservIds: ['mx.company.test'] });
		const stamped = Buffer.concat([Buffer.from(header('mx.company.test', 'pass')), await customerMail()]);
		const trusted = await explain(stamped, inbox, world.zone, {}, 'imap');
		expect(trusted.verdict.action).toBe('accept');
		expect(trusted.verdict.flags).toContain('dmarc-fail-relay-rescued');

		// The receiving server stamped another id on top: the trusted-looking header below came with the message.
		const planted = Buffer.concat([Buffer.from(header('other.example', 'none')), Buffer.from(header('mx.company.test', 'pass')), await customerMail()]);
		expect((await explain(planted, inbox, world.zone, {}, 'imap')).verdict.action).toBe('reject');

		// Over SMTP the client wrote the topmost header itself.
		const smtp = await explain(stamped, inbox, world.zone, { clientIp: '203.0.113.9' });
		expect(smtp.verdict.action).toBe('reject');
		expect(smtp.verdict.reasons).toContainEqual(expect.stringContaining('Authentication-Results of mx.company.test not believed'));
	});

	describe('DNS trouble never rejects', () => {
		const servfail: Zone = {};
		const failingResolver = (zone: Zone) => async (name: string, type: string) => {
			if (name.startsWith('_dmarc.') || name.includes('_domainkey')) throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
			const { zoneResolver } = await import('../../../core/dns');
			return await zoneResolver(zone)(name, type);
		};

		it('accepts and flags by default, defers 451 4.7.0 with onDnsError: defer', async () => {
			const { runChecks } = await import('../../../core/intake/pipeline');
			const raw = await sign(await customerMail(), world.customer);
			const accepted = await runChecks(raw, { inbox: testInbox(), resolver: failingResolver(world.zone), envelope: { clientIp: '203.0.113.9' } });
			expect(accepted.result.verdict.action).toBe('accept');
			expect(accepted.result.verdict.flags).toContain('dns-error');
			const deferred = await runChecks(raw, { inbox: testInbox({ onDnsError: 'defer' }), resolver: failingResolver(servfail), envelope: { clientIp: '203.0.113.9' } });
			expect(deferred.result.verdict).toMatchObject({ action: 'defer', smtpCode: 451, enhancedCode: '4.7.0' });
			expect(deferred.result.verdict.reasons[0]).toMatch(/failed temporarily|failed/);
		});
	});
});
