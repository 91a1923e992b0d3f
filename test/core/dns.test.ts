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

	it('names the file and the problem when a zone file is wrong', () => {
		const dir = mkdtempSync(join(tmpdir(), 'zone-'));
		writeFileSync(join(dir, 'bad.json'), '{"a": {"TXT": "x"}}');
		expect(() => loadZoneFile(join(dir, 'bad.json'))).toThrow(/bad\.json is not a zone: a\.TXT/);
		expect(() => loadZoneFile(join(dir, 'missing.json'))).toThrow(/cannot read zone file/);
	});
});
