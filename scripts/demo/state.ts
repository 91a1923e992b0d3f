/**
 * The demo's one folder (default ~/.hosted-inbox-demo, HOSTED_INBOX_DEMO_DIR to change it): n8n's user folder
 * (its database, workflows, credentials, executions, the embedded store) and demo.json, what `npm run demo` keeps
 * between starts and tells `npm run demo:send`: where to send, which key signs the demo company's mail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Zone } from '../../core/dns';
import { dmarcRecord, makeKey, zoneOf, type TestKey } from '../../test/fixtures/mail';

export const DEMO_ADDRESS = 'support@inbox.example.test';
export const DEMO_COMPANY = 'company.test';

export interface DemoState {
	/** The imported SMTP template, activated at each start. */
	workflowId: string;
	/** Ports baked into the imported workflow and credential: the same at each start. */
	editorPort: number;
	sinkPort: number;
	editor: string;
	address: string;
	smtpHost: string;
	smtpPort: number;
	store: string;
	nodeBin: string;
	/** DKIM key of company.test for this run (made at start, never stored in the repository). */
	privateKey: string;
	/** The imported HTTP template (absent in a demo folder from before it), its Production URL and bearer token. */
	httpWorkflowId?: string;
	httpUrl?: string;
	httpToken?: string;
}

export function demoDir(): string {
	return path.resolve(process.env.HOSTED_INBOX_DEMO_DIR || path.join(os.homedir(), '.hosted-inbox-demo'));
}

export function demoStatePath(): string {
	return path.join(demoDir(), 'demo.json');
}

/** The state of an earlier start whose n8n database is still there, else null (a first start). */
export function savedDemoState(): DemoState | null {
	if (!fs.existsSync(demoStatePath()) || !fs.existsSync(path.join(demoDir(), '.n8n', 'database.sqlite'))) return null;
	return JSON.parse(fs.readFileSync(demoStatePath(), 'utf8')) as DemoState;
}

/** The demo company's signing key: its Google Group and its agents sign with it, as Google Workspace would. */
export function demoKey(privateKey?: string): TestKey {
	return makeKey(DEMO_COMPANY, 'demo', privateKey);
}

/** The demo's offline DNS: the company's DKIM key and a strict DMARC policy (p=reject), nothing else. */
export function demoZone(key: TestKey): Zone {
	return zoneOf(key.zone, dmarcRecord(DEMO_COMPANY, 'reject'));
}
