import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadZoneFile, rememberingResolver, systemResolver, zoneResolver, type DnsResolver } from '../../core/dns';
import { parseInboxConfig } from '../../core/inbox';
import { runChecks } from '../../core/intake/pipeline';
import { compose, dmarcRecord, makeKey, sign, testWorld, zoneOf } from '../fixtures/mail';

describe('offline DNS zones', () => {
	const resolve = zoneResolver({ 'Example.test': { TXT: [['v=spf1 ', '-all']], MX: [{ exchange: 'mx.example.test', priority: 10 }] } });

	it('answers from the zone, NXDOMAIN for absent names, NODATA for absent types', async () => {
		await expect(resolve('example.test.', 'TXT')).resolves.toEqual([['v=spf1 ', '-all']]);
		await expect(resolve('nope.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
		await expect(resolve('example.test', 'A')).rejects.toMatchObject({ code: 'ENODATA' });
	});

	it('fails every lookup of a name holding {"error": code} with that Node error code', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'zone-'));
		writeFileSync(join(dir, 'broken.json'), JSON.stringify({ 'ns.test': { error: 'ESERVFAIL' }, 'slow.test': { error: 'ETIMEOUT' }, 'shut.test': { error: 'ECONNREFUSED' } }));
		const broken = zoneResolver(loadZoneFile(join(dir, 'broken.json')));
		await expect(broken('NS.test.', 'TXT')).rejects.toMatchObject({ code: 'ESERVFAIL', message: 'ESERVFAIL NS.test. TXT' });
		await expect(broken('ns.test', 'A')).rejects.toMatchObject({ code: 'ESERVFAIL' });
		await expect(broken('slow.test', 'MX')).rejects.toMatchObject({ code: 'ETIMEOUT' });
		await expect(broken('shut.test', 'TXT')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
	});

	it('names the file and the problem when a zone file is wrong', () => {
		const dir = mkdtempSync(join(tmpdir(), 'zone-'));
		writeFileSync(join(dir, 'bad.json'), '{"a": {"TXT": "x"}}');
		expect(() => loadZoneFile(join(dir, 'bad.json'))).toThrow(/bad\.json is not a zone: a\.TXT/);
		writeFileSync(join(dir, 'code.json'), '{"a": {"error": "EBOGUS"}}');
		expect(() => loadZoneFile(join(dir, 'code.json'))).toThrow(/code\.json is not a zone: a\.error: Invalid enum value\. Expected 'ESERVFAIL' \| 'ETIMEOUT' \| 'ECONNREFUSED'/);
		writeFileSync(join(dir, 'mixed.json'), '{"a": {"error": "ESERVFAIL", "TXT": [["x"]]}}');
		expect(() => loadZoneFile(join(dir, 'mixed.json'))).toThrow(/mixed\.json is not a zone: a: a name with "error" holds no records/);
		expect(() => loadZoneFile(join(dir, 'missing.json'))).toThrow(/cannot read zone file/);
	});
});

describe('real DNS', () => {
	// A sender writes the DKIM selector and the MAIL FROM domain: a name no DNS can hold must not read as a DNS error,
	// or a forged DKIM-Signature d=<the From domain> with such a selector turns DMARC p=reject into "accept, flagged".
	it('answers NXDOMAIN for a name that cannot exist, without sending a query', async () => {
		const resolve = systemResolver(1000);
		for (const name of [`${'s'.repeat(64)}._domainkey.company.test`, 'a..b._domainkey.company.test', `${'x.'.repeat(130)}company.test`]) {
			await expect(resolve(name, 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
		}
	});

	it('a forged DKIM signature of the From domain with an impossible selector leaves DMARC p=reject a rejection', async () => {
		const world = testWorld();
		const zone = zoneResolver(zoneOf(world.zone, dmarcRecord('company.test', 'reject')));
		const system = systemResolver(1000);
		// The zone answers every real name offline; only the impossible one goes to real DNS (no query leaves the machine).
		const resolver = async (name: string, rrtype: string) => (name.split('.').some((label) => label.length > 63) ? system(name, rrtype) : zone(name, rrtype));
		const forged = await sign(await compose({ from: 'CEO <ceo@company.test>', to: 'support@inbox.example.test', subject: 'Pay today', text: 'x' }), makeKey('company.test', 's'.repeat(64)));
		const { result } = await runChecks(forged, { inbox: parseInboxConfig({ address: 'support@inbox.example.test' }), resolver, envelope: { clientIp: '192.0.2.9', mailFrom: 'x@attacker.test', rcpt: [] } });
		expect(result.auth?.dmarc).toMatchObject({ result: 'fail', policy: 'reject' });
		expect(result.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
	});
});

describe("the intake's remembered DNS answers", () => {
	/** A zone that counts the questions it is asked; `now` is the remembering resolver's clock. */
	function counted(zone: Parameters<typeof zoneResolver>[0]) {
		const asked: string[] = [];
		const inner = zoneResolver(zone);
		const clock = { now: 0 };
		const ask: DnsResolver = (name, rrtype) => {
			asked.push(`${rrtype} ${name}`);
			return inner(name, rrtype);
		};
		return { asked, clock, resolve: rememberingResolver(ask, () => clock.now) };
	}

	it('asks once a minute for an answer, NXDOMAIN or NODATA of one name (in any case), then again', async () => {
		const { asked, clock, resolve } = counted({ 'sender.test': { TXT: [['v=spf1 -all']] } });
		for (let i = 0; i < 3; i++) {
			await expect(resolve('sender.test', 'TXT')).resolves.toEqual([['v=spf1 -all']]);
			await expect(resolve('SENDER.test', 'TXT')).resolves.toEqual([['v=spf1 -all']]);
			await expect(resolve('_dmarc.sender.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND', hostname: '_dmarc.sender.test', message: 'NXDOMAIN _dmarc.sender.test TXT' });
			await expect(resolve('sender.test', 'MX')).rejects.toMatchObject({ code: 'ENODATA' });
			clock.now += 31_000;
		}
		expect(asked).toEqual(['TXT sender.test', 'TXT _dmarc.sender.test', 'MX sender.test', 'TXT sender.test', 'TXT _dmarc.sender.test', 'MX sender.test']);
	});

	it('hands back a resolver that remembers already: doors given one share its memory', async () => {
		const { asked, resolve } = counted({ 'sender.test': { TXT: [['v=spf1 -all']] } });
		const again = rememberingResolver(resolve);
		expect(again).toBe(resolve);
		await again('sender.test', 'TXT');
		await resolve('sender.test', 'TXT');
		expect(asked).toEqual(['TXT sender.test']);
	});

	it('asks again after a temporary failure (SERVFAIL, timeout), and once for lookups under way together', async () => {
		const { asked, resolve } = counted({ 'broken.test': { error: 'ESERVFAIL' }, 'sender.test': { TXT: [['v=spf1 -all']] } });
		await expect(resolve('broken.test', 'TXT')).rejects.toMatchObject({ code: 'ESERVFAIL' });
		await expect(resolve('broken.test', 'TXT')).rejects.toMatchObject({ code: 'ESERVFAIL' });
		await Promise.all([resolve('sender.test', 'TXT'), resolve('sender.test', 'TXT'), resolve('sender.test', 'TXT')]);
		expect(asked).toEqual(['TXT broken.test', 'TXT broken.test', 'TXT sender.test']);
	});

	it("gives each caller its own copy: one message's checks cannot change what the next one reads", async () => {
		const { resolve } = counted({ 'sender.test': { TXT: [['v=spf1 -all']] } });
		const first = (await resolve('sender.test', 'TXT')) as string[][];
		first[0][0] = 'v=spf1 +all';
		expect(await resolve('sender.test', 'TXT')).toEqual([['v=spf1 -all']]);
	});

	it("replays a kept failure as a new error each time: what one message's checks write on it, the next does not see", async () => {
		const { resolve } = counted({});
		const first = await resolve('_dmarc.sender.test', 'TXT').catch((error: Error & { spfResult?: string }) => error);
		first.spfResult = 'written by one message';
		const second = await resolve('_dmarc.sender.test', 'TXT').catch((error: Error & { spfResult?: string }) => error);
		expect(second).not.toBe(first);
		expect(second).toBeInstanceOf(Error);
		expect(second).toMatchObject({ code: 'ENOTFOUND', message: 'NXDOMAIN _dmarc.sender.test TXT' });
		expect(second.spfResult).toBeUndefined();
	});

	it('keeps no name DNS cannot hold (a sender can make a DKIM selector of any length), and folds only ASCII case', async () => {
		const long = `${'s'.repeat(300)}._domainkey.sender.test`;
		const { asked, resolve } = counted({});
		for (let i = 0; i < 2; i++) {
			await resolve(long, 'TXT').catch(() => undefined);
			await resolve('sel._domainkey.ΕΛΛΆΣ.test', 'TXT').catch(() => undefined);
			await resolve('sel._domainkey.ελλάς.test', 'TXT').catch(() => undefined);
			await resolve('SEL._domainkey.Sender.test', 'TXT').catch(() => undefined);
			await resolve('sel._domainkey.sender.test', 'TXT').catch(() => undefined);
		}
		expect(asked).toEqual([`TXT ${long}`, 'TXT sel._domainkey.ΕΛΛΆΣ.test', 'TXT sel._domainkey.ελλάς.test', 'TXT SEL._domainkey.Sender.test', `TXT ${long}`]);
	});

	it('keeps at most 1,000 names, the oldest forgotten first, and no answer over 4 KB', async () => {
		const big = [Array.from({ length: 20 }, () => 'k'.repeat(255))];
		const { asked, resolve } = counted({ 'big.test': { TXT: big } });
		await resolve('big.test', 'TXT');
		await resolve('big.test', 'TXT');
		for (let i = 0; i <= 1000; i++) await resolve(`n${i}.attacker.test`, 'TXT').catch(() => undefined);
		await resolve('n1000.attacker.test', 'TXT').catch(() => undefined);
		await resolve('n0.attacker.test', 'TXT').catch(() => undefined);
		expect(asked.filter((q) => q === 'TXT big.test')).toHaveLength(2);
		expect(asked.filter((q) => q === 'TXT n1000.attacker.test')).toHaveLength(1);
		expect(asked.filter((q) => q === 'TXT n0.attacker.test')).toHaveLength(2);
	});
});
