/**
 * npm run demo: n8n 2.41 (Node 24) with this package, the SMTP template imported and active on the embedded
 * store, agents and a team seeded, then the lines other tools read (editor, forwarding address, smtp, store).
 * Runs until SIGINT/SIGTERM, which stop n8n cleanly. `npm run demo:send` then sends sample mail to it.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { N8N_CURRENT, N8n, OWNER, freePort, packPackage, storeCli, waitForPort } from '../e2e/n8n';
import { notifySmtpCredential, startMailSink, templateCopy } from '../e2e/setup';
import { DEMO_ADDRESS, demoKey, demoStatePath, demoZone, type DemoState } from './state';

async function portIsFree(port: number): Promise<boolean> {
	return await new Promise((resolve) => {
		const server = net.createServer();
		server.once('error', () => resolve(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
	});
}

/** The documented ports when free (5678 for the editor, 2525 for SMTP), else any free one: a demo must start. */
async function pickPort(preferred: number): Promise<number> {
	return (await portIsFree(preferred)) ? preferred : await freePort();
}

async function main(): Promise<void> {
	const editorPort = Number(process.env.DEMO_EDITOR_PORT) || (await pickPort(5678));
	const smtpPort = Number(process.env.DEMO_SMTP_PORT) || (await pickPort(2525));
	// Team notifications from the template's Send Email nodes land here and are printed.
	const sink = await startMailSink((message) => {
		const subject = /^Subject: (.*)$/m.exec(message.raw)?.[1] ?? '';
		process.stdout.write(`notification to ${message.to.join(', ')}: ${subject}\n`);
	});
	const key = demoKey();
	const template = templateCopy('hosted-inbox-smtp.json', { smtpPort });
	const zoneFile = path.join(path.dirname(template), 'demo-zone.json');
	// Offline DNS with the demo company's DKIM key: the sample mail is judged the same on any machine.
	fs.writeFileSync(zoneFile, JSON.stringify(demoZone(key)));

	process.stderr.write('demo: starting n8n (the first run installs it, which takes several minutes)\n');
	const n8n = await N8n.start({
		version: N8N_CURRENT,
		port: editorPort,
		tarball: packPackage({ build: false }),
		credentials: [notifySmtpCredential(sink.port)],
		workflows: [template],
		env: { HOSTED_INBOX_DNS_ZONE: zoneFile },
		keepUserFolder: true,
		beforeStart: async (instance) => {
			const seeded = await storeCli(instance.install, instance.embeddedStorePath, ['seed', path.join(__dirname, 'seed.json')]);
			process.stderr.write(`demo: ${seeded.trim()}\n`);
		},
	});
	let stopping = false;
	const stop = async (signal: string): Promise<void> => {
		if (stopping) return;
		stopping = true;
		process.stderr.write(`demo: ${signal}, stopping n8n\n`);
		await n8n.stop();
		await sink.close();
		fs.rmSync(demoStatePath(), { force: true });
		process.exit(0);
	};
	process.on('SIGINT', () => void stop('SIGINT'));
	process.on('SIGTERM', () => void stop('SIGTERM'));

	try {
		await n8n.activate(n8n.workflowIds[0]);
		await waitForPort(smtpPort);
	} catch (error) {
		await n8n.stop();
		await sink.close();
		throw error;
	}
	const state: DemoState = {
		editor: n8n.editorUrl,
		address: DEMO_ADDRESS,
		smtpHost: '127.0.0.1',
		smtpPort,
		store: n8n.embeddedStorePath,
		nodeBin: n8n.install.nodeBin,
		privateKey: key.privateKey,
	};
	fs.writeFileSync(demoStatePath(), JSON.stringify(state, null, 2));
	process.stderr.write(`demo: sign in as ${OWNER.email} / ${OWNER.password}; Ctrl-C stops n8n\n`);
	process.stdout.write(
		`editor: ${state.editor}\nforwarding address: ${state.address}\nsmtp: ${state.smtpHost}:${state.smtpPort}\nstore: ${state.store}\n`,
	);
}

main().catch((error: Error) => {
	process.stderr.write(`demo: ${error.message}\n`);
	process.exit(1);
});
