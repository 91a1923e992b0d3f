/** What `npm run demo` tells `npm run demo:send`: where to send, which key signs the demo company's mail. */
import os from 'node:os';
import path from 'node:path';

import type { Zone } from '../../core/dns';
import { dmarcRecord, makeKey, zoneOf, type TestKey } from '../../test/fixtures/mail';

export const DEMO_ADDRESS = 'support@inbox.example.test';
export const DEMO_COMPANY = 'company.test';

export interface DemoState {
	editor: string;
	address: string;
	smtpHost: string;
	smtpPort: number;
	store: string;
	nodeBin: string;
	/** DKIM key of company.test for this run (made at start, never stored in the repository). */
	privateKey: string;
}

export function demoStatePath(): string {
	const cache = process.env.HOSTED_INBOX_E2E_CACHE ?? path.join(os.homedir(), '.cache', 'hosted-inbox-e2e');
	return path.join(cache, 'demo.json');
}

/** The demo company's signing key: its Google Group and its agents sign with it, as Google Workspace would. */
export function demoKey(privateKey?: string): TestKey {
	const key = makeKey(DEMO_COMPANY, 'demo');
	return privateKey ? { ...key, privateKey } : key;
}

/** The demo's offline DNS: the company's DKIM key and a strict DMARC policy (p=reject), nothing else. */
export function demoZone(key: TestKey): Zone {
	return zoneOf(key.zone, dmarcRecord(DEMO_COMPANY, 'reject'));
}
