import { installN8n, packPackage } from '../support/real-n8n';
import { e2eVersions } from './support';

/**
 * Once per e2e run, outside any test's timeout: install the n8n versions under test (cached after the first run)
 * and build + pack this package, the tarball every suite installs into n8n as its community-node installer does.
 */
export default async function globalSetup(): Promise<void> {
	for (const version of e2eVersions()) {
		const started = Date.now();
		const install = installN8n(version);
		process.stderr.write(`e2e: n8n ${version} ready in ${install.dir} (${Math.round((Date.now() - started) / 1000)}s)\n`);
	}
	const started = Date.now();
	process.env.HOSTED_INBOX_E2E_TARBALL = packPackage();
	process.stderr.write(`e2e: packed ${process.env.HOSTED_INBOX_E2E_TARBALL} (${Math.round((Date.now() - started) / 1000)}s)\n`);
}
