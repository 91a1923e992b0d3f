import { arcSeal, compose, rewriteHeader, sign, testInbox, testWorld } from '../../fixtures/mail';
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

	it('monitor mode only flags', async () => {
		const r = await explain(await customerMail(), testInbox({ dmarcPolicy: 'monitor' }), world.zone, { clientIp: '203.0.113.9' });
		expect(r.verdict.action).toBe('accept');
		expect(r.verdict.flags).toEqual(expect.arrayContaining(['dmarc-fail', 'monitor-mode', 'would-reject']));
	});

	it('trusts a relay\'s Authentication-Results only from a trusted relay IP', async () => {
		const raw = Buffer.concat([
			Buffer.from('Authentication-Results: relay.company.test; spf=pass smtp.mailfrom=customer.test; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test\r\n'),
			await customerMail(),
		]);
		const relayed = await explain(raw, testInbox({ trustedRelays: ['192.0.2.64/26'] }), world.zone, { clientIp: '192.0.2.70' });
		expect(relayed.verdict.action).toBe('accept');
		expect(relayed.verdict.flags).toContain('dmarc-fail-relay-rescued');
		const stranger = await explain(raw, testInbox({ trustedRelays: ['192.0.2.64/26'] }), world.zone, { clientIp: '203.0.113.9' });
		expect(stranger.verdict.action).toBe('reject');
	});

	it('trusts an authserv-id only in the topmost Authentication-Results, never one the sender wrote below', async () => {
		const header = (id: string, dmarc: string) => `Authentication-Results: ${id}; spf=pass smtp.mailfrom=customer.test; dmarc=${dmarc} header.from=customer.test\r\n`;
		const inbox = testInbox({ trustedAuthservIds: ['mx.company.test'] });
		const stamped = Buffer.concat([Buffer.from(header('mx.company.test', 'pass')), await customerMail()]);
		const trusted = await explain(stamped, inbox, world.zone, {});
		expect(trusted.verdict.action).toBe('accept');
		expect(trusted.verdict.flags).toContain('dmarc-fail-relay-rescued');

		// The receiving server stamped another id on top: the trusted-looking header below came with the message.
		const planted = Buffer.concat([Buffer.from(header('other.example', 'none')), Buffer.from(header('mx.company.test', 'pass')), await customerMail()]);
		expect((await explain(planted, inbox, world.zone, {})).verdict.action).toBe('reject');
	});

	describe('DNS trouble never rejects', () => {
		const servfail: Zone = {};
		const failingResolver = (zone: Zone) => async (name: string, type: string) => {
			if (name.startsWith('_dmarc.') || name.includes('_domainkey')) throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
			const { zoneResolver } = await import('../../../core/dns');
			return await zoneResolver(zone)(name, type);
		};

		it('accepts and flags by default, defers 451 4.7.0 with onDnsError: defer', async () => {
			const { runIntake } = await import('../../../core/intake/pipeline');
			const raw = await sign(await customerMail(), world.customer);
			const accepted = await runIntake(raw, { inbox: testInbox(), resolver: failingResolver(world.zone), envelope: { clientIp: '203.0.113.9' } });
			expect(accepted.result.verdict.action).toBe('accept');
			expect(accepted.result.verdict.flags).toContain('dns-error');
			const deferred = await runIntake(raw, { inbox: testInbox({ onDnsError: 'defer' }), resolver: failingResolver(servfail), envelope: { clientIp: '203.0.113.9' } });
			expect(deferred.result.verdict).toMatchObject({ action: 'defer', smtpCode: 451, enhancedCode: '4.7.0' });
			expect(deferred.result.verdict.reasons[0]).toMatch(/failed temporarily|failed/);
		});
	});
});
