import { zoneResolver, type Zone } from '../../../core/dns';
import { generateDkimKeyPair, publicKeyOf } from '../../../core/sending-domain/keys';
import { sendingDomainRecords } from '../../../core/sending-domain/records';
import { verifySendingDomain } from '../../../core/sending-domain/verify';

const keys = generateDkimKeyPair();

/** A zone holding exactly the records Connect asked the user to publish (TXT split in 255-character strings). */
function publishedZone(spfMechanism?: string): Zone {
	const zone: Zone = {};
	for (const r of sendingDomainRecords({ domain: 'acme.test', selector: 'hi1', publicKey: keys.publicKey, spfMechanism })) {
		if (r.required || r.purpose === 'dmarc') zone[r.name] = { TXT: [r.strings] };
	}
	return zone;
}

describe('sending domain keys and records', () => {
	it('generates an RSA key pair whose public half the private key reproduces', () => {
		expect(keys.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
		expect(publicKeyOf(keys.privateKey)).toBe(keys.publicKey);
		expect(() => publicKeyOf('not a key')).toThrow(/not a valid PEM private key/);
	});

	it('lists the DKIM TXT at selector._domainkey.domain, an SPF include and a DMARC hint', () => {
		const records = sendingDomainRecords({ domain: 'Acme.TEST.', selector: 'hi1', publicKey: keys.publicKey, spfMechanism: '_spf.mail.test' });
		expect(records.map((r) => [r.purpose, r.name, r.required])).toEqual([
			['dkim', 'hi1._domainkey.acme.test', true],
			['spf', 'acme.test', true],
			['dmarc', '_dmarc.acme.test', false],
		]);
		expect(records[0].value).toBe(`v=DKIM1; k=rsa; p=${keys.publicKey}`);
		expect(records[0].strings.join('')).toBe(records[0].value);
		expect(Math.max(...records[0].strings.map((s) => s.length))).toBeLessThanOrEqual(255);
		expect(records[1].value).toBe('v=spf1 include:_spf.mail.test ~all');
		expect(records[2].value).toMatch(/^v=DMARC1; p=none/);
	});

	it('refuses a bad domain or selector', () => {
		expect(() => sendingDomainRecords({ domain: 'acme', selector: 'hi1', publicKey: 'x' })).toThrow(/not a domain name/);
		expect(() => sendingDomainRecords({ domain: 'acme.test', selector: 'bad selector', publicKey: 'x' })).toThrow(/not a DKIM selector/);
	});
});

describe('verifySendingDomain', () => {
	const base = { domain: 'acme.test', selector: 'hi1', publicKey: keys.publicKey, now: new Date('2026-01-01T00:00:00Z') };

	it('verifies when the published records match', async () => {
		const check = await verifySendingDomain({ ...base, spfMechanism: '_spf.mail.test', resolver: zoneResolver(publishedZone('_spf.mail.test')) });
		expect(check.verified).toBe(true);
		expect(check.records.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
		expect(check.summary).toBe('acme.test is verified');
	});

	it('says the DKIM record is missing, with its name and value', async () => {
		const zone = publishedZone();
		delete zone['hi1._domainkey.acme.test'];
		const check = await verifySendingDomain({ ...base, resolver: zoneResolver(zone) });
		expect(check.verified).toBe(false);
		expect(check.records[0]).toMatchObject({ purpose: 'dkim', status: 'missing', name: 'hi1._domainkey.acme.test' });
		expect(check.summary).toContain('DKIM record missing');
		expect(check.summary).toContain('hi1._domainkey.acme.test');
		expect(check.summary).toContain(`p=${keys.publicKey}`);
	});

	it('says the DKIM record is wrong when another key is published', async () => {
		const zone = publishedZone();
		zone['hi1._domainkey.acme.test'] = { TXT: [[`v=DKIM1; k=rsa; p=${generateDkimKeyPair().publicKey}`]] };
		const check = await verifySendingDomain({ ...base, resolver: zoneResolver(zone) });
		expect(check.records[0].status).toBe('wrong');
		expect(check.summary).toMatch(/DKIM record wrong \(the key at hi1._domainkey.acme.test is not the one generated on Connect/);
	});

	it('requires the SPF mechanism set on Connect, and one SPF record only', async () => {
		const zone = publishedZone('_spf.mail.test');
		zone['acme.test'] = { TXT: [['v=spf1 include:_spf.other.test -all']] };
		let check = await verifySendingDomain({ ...base, spfMechanism: '_spf.mail.test', resolver: zoneResolver(zone) });
		expect(check.verified).toBe(false);
		expect(check.summary).toMatch(/SPF record wrong \(the SPF record at acme.test does not contain "include:_spf.mail.test";/);
		zone['acme.test'] = { TXT: [['v=spf1 include:_spf.mail.test -all'], ['v=spf1 mx -all']] };
		check = await verifySendingDomain({ ...base, spfMechanism: '_spf.mail.test', resolver: zoneResolver(zone) });
		expect(check.summary).toMatch(/2 SPF records/);
	});

	it('treats SPF and DMARC as advice when no SPF mechanism was set', async () => {
		const check = await verifySendingDomain({ ...base, resolver: zoneResolver({ 'hi1._domainkey.acme.test': publishedZone()['hi1._domainkey.acme.test'] }) });
		expect(check.verified).toBe(true);
		expect(check.records.map((r) => r.status)).toEqual(['ok', 'missing', 'missing']);
		expect(check.summary).toMatch(/verified; advice: no SPF record .* no DMARC record/);
	});

	it('reports DNS trouble as a check that could not be made, not as a missing record', async () => {
		const resolver = async () => {
			throw Object.assign(new Error('queryTxt ESERVFAIL'), { code: 'ESERVFAIL' });
		};
		const check = await verifySendingDomain({ ...base, resolver });
		expect(check.verified).toBe(false);
		expect(check.records[0].status).toBe('dns-error');
		expect(check.summary).toContain('DKIM record could not be checked');
	});
});
