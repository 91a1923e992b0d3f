/**
 * DNS answers are the sender's to write: the red-team's records that made mailauth work for seconds to minutes on one
 * message (what each costs now against its twin: npm run bench:hostile), each checked for the verdict it gets.
 */
import { OVERLONG_SPF_TERM } from '../../../core/intake/bounded-dns';
import { zoneResolver, type Zone } from '../../../core/dns';
import { runChecks } from '../../../core/intake/pipeline';
import { compose, makeKey, sign, spfRecord, testInbox, zoneOf } from '../../fixtures/mail';

const evil = makeKey('evil.test');
const LOCAL = 'b'.repeat(64);

async function check(raw: Buffer, zone: Zone, envelope: { clientIp?: string; mailFrom?: string; helo?: string } = {}) {
	const { result } = await runChecks(raw, {
		inbox: testInbox(),
		resolver: zoneResolver(zone),
		envelope: { clientIp: '203.0.113.9', mailFrom: `${LOCAL}@evil.test`, helo: 'mx.evil.test', ...envelope },
	});
	return result;
}

const mail = () => compose({ from: `${LOCAL}@evil.test`, to: 'support@inbox.example.test', subject: 'hi', text: 'hello' });

describe('DNS answers mailauth reads in bounded time', () => {
	it('an SPF record whose terms could name a domain longer than DNS allows is a broken record (8 KB of %{l} took 9.9 s)', async () => {
		for (const record of [`v=spf1 include:a.${'%{l}'.repeat(1600)}_ -all`, `v=spf1 include:a.${'x'.repeat(16_000)}_ -all`, `v=spf1 a:${'%{L}'.repeat(2)}.evil.test -all`]) {
			const result = await check(await mail(), zoneOf(spfRecord('evil.test', record)));
			expect(result.auth?.spf).toMatchObject({ result: 'permerror', comment: expect.stringContaining(OVERLONG_SPF_TERM) });
		}
	});

	it('keeps SPF records whose macros stay within a name: they are checked as published', async () => {
		const result = await check(await mail(), zoneOf(spfRecord('evil.test', 'v=spf1 exists:%{i}._spf.evil.test ip4:203.0.113.0/24 -all')));
		expect(result.auth?.spf).toMatchObject({ result: 'pass' });
	});

	it('does not look up an SPF identity longer than DNS allows (a MAIL FROM domain of 16 KB)', async () => {
		const result = await check(await mail(), {}, { mailFrom: `a@${'x'.repeat(16_000)}_` });
		expect(result.auth?.spf).toMatchObject({ result: 'permerror', comment: expect.stringContaining('longer than DNS allows') });
	});

	it('takes a key record longer than any key for no key (62 KB of empty tags took 5.5 s over fifty seals)', async () => {
		const signed = await sign(await mail(), evil);
		const [key] = Object.values(evil.zone) as Array<{ TXT: string[][] }>;
		const padded = { [`${evil.selector}._domainkey.evil.test`]: { TXT: [[...key.TXT[0], ...`; ${'a;;'.repeat(21_000)}`.match(/.{1,255}/g)!]] } };
		expect((await check(signed, evil.zone)).auth?.dkim.result).toBe('pass');
		const result = await check(signed, padded);
		expect(result.auth?.dkim.result).not.toBe('pass');
	});

	it('matches the first 100 addresses of an A answer against an SPF CIDR', async () => {
		const addresses = Array.from({ length: 4000 }, (_, i) => `198.51.${Math.floor(i / 250)}.${i % 250}`);
		const zone = zoneOf(spfRecord('evil.test', 'v=spf1 a:many.evil.test/32 -all'), { 'many.evil.test': { A: addresses } });
		expect((await check(await mail(), zone, { clientIp: addresses[99] })).auth?.spf.result).toBe('pass');
		expect((await check(await mail(), zone, { clientIp: addresses[3999] })).auth?.spf.result).toBe('fail');
	});
});
