import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadZoneFile, zoneResolver } from '../../core/dns';

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
