import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { installN8n } from '../support/real-n8n';
import { smtpScenario } from './smtp-scenario';
import { e2eVersions } from './support';

/** The embedded store needs node:sqlite (Node >= 22.13): n8n on Node 20 (2.8.x) runs the template on PostgreSQL. */
function hasNodeSqlite(version: string): boolean {
	const node = path.join(installN8n(version).nodeBin, 'node');
	try {
		execFileSync(node, ['-e', "require('node:sqlite')"], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

describe.each(e2eVersions())('n8n %s, regular mode: the SMTP forwarding template end to end', (version) => {
	smtpScenario({ version, mode: 'regular', store: hasNodeSqlite(version) ? 'embedded' : 'postgres' });
});
