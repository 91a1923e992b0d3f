/** The versions under test and the packed package, for the real-n8n suites. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { installN8n, N8N_CURRENT, N8N_NODE20, packPackage } from '../support/real-n8n';

/** HOSTED_INBOX_E2E_VERSIONS=2.41.1,2.8.4 (the default: the current line on Node 24, the newest on Node 20). */
export function e2eVersions(): string[] {
	const list = process.env.HOSTED_INBOX_E2E_VERSIONS ?? `${N8N_CURRENT},${N8N_NODE20}`;
	return list
		.split(',')
		.map((v) => v.trim())
		.filter(Boolean);
}

/** The tarball packed by the global setup (or packed now, when a suite runs on its own). */
export function tarball(): string {
	if (!process.env.HOSTED_INBOX_E2E_TARBALL) process.env.HOSTED_INBOX_E2E_TARBALL = packPackage();
	return process.env.HOSTED_INBOX_E2E_TARBALL;
}

/** The embedded store needs node:sqlite (Node >= 22.13): n8n on Node 20 (2.8.x) runs a template on PostgreSQL. */
export function storeFor(version: string): 'embedded' | 'postgres' {
	const node = path.join(installN8n(version).nodeBin, 'node');
	try {
		execFileSync(node, ['-e', "require('node:sqlite')"], { stdio: 'ignore' });
		return 'embedded';
	} catch {
		return 'postgres';
	}
}
