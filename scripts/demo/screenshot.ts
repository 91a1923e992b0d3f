/**
 * npm run screenshot [template.json ...]: each template on the canvas of a real n8n editor, as PNG in docs/,
 * taken by Debian's headless Chromium driven by playwright-core (signed in as the owner, like a person).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { N8N_CURRENT, N8n, OWNER, REPO_ROOT, packPackage } from '../../test/support/real-n8n';
import { templatePath } from '../../test/support/real-n8n-setup';

const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps dialling Google's hosts, refused on a closed network.
const CHROMIUM_FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

function ensureChromium(): void {
	if (fs.existsSync(CHROMIUM)) return;
	process.stderr.write('screenshot: installing Debian chromium\n');
	execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
	execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
		stdio: 'inherit',
		env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
	});
}

async function main(): Promise<void> {
	const names = process.argv.slice(2).length ? process.argv.slice(2) : ['hosted-inbox-smtp.json'];
	ensureChromium();
	const n8n = await N8n.start({ version: N8N_CURRENT, tarball: packPackage(), workflows: names.map(templatePath) });
	const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
	try {
		const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
		await page.goto(`${n8n.url}/signin`);
		await page.locator('input[type="email"], input[name="emailOrLdapLoginId"], input[name="email"]').first().fill(OWNER.email);
		await page.locator('input[type="password"]').first().fill(OWNER.password);
		await page.keyboard.press('Enter');
		await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 60_000 });
		for (const [i, name] of names.entries()) {
			await page.goto(`${n8n.url}/workflow/${n8n.workflowIds[i]}`);
			await page.locator('[data-test-id="canvas-node"]').first().waitFor({ timeout: 60_000 }).catch(async (error) => {
				await page.screenshot({ path: '/tmp/screenshot-debug.png' });
				throw error;
			});
			// Close whatever the editor opens on a first visit, then fit the whole workflow in view.
			await page.keyboard.press('Escape');
			await page.locator('[data-test-id="zoom-to-fit"]').click({ timeout: 5_000 }).catch(() => undefined);
			await page.waitForTimeout(1500);
			const file = path.join(REPO_ROOT, 'docs', name.replace(/\.json$/, '.png'));
			fs.mkdirSync(path.dirname(file), { recursive: true });
			await page.screenshot({ path: file });
			process.stdout.write(`screenshot: ${path.relative(REPO_ROOT, file)}\n`);
		}
	} finally {
		await browser.close();
		await n8n.stop();
	}
}

main().catch((error: Error) => {
	process.stderr.write(`screenshot: ${error.stack ?? error.message}\n`);
	process.exit(1);
});
