/**
 * npm run demo: n8n 2.41 (Node 24) with this package, the SMTP and HTTP templates imported and active on the
 * embedded store, agents and a team seeded, then the lines other tools read (editor, forwarding address, smtp, http,
 * store, folder). Runs until SIGINT/SIGTERM, which stop n8n cleanly; everything stays in the demo folder (state.ts), and
 * the next start goes on from it with the current checkout's package. `npm run demo:send` sends sample mail to it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { loadZoneFile } from '../../core/dns';
import { zoneOf } from '../../test/fixtures/mail';

import { freePort, waitForPort } from '../../test/support/ports';
import { N8N_CURRENT, N8n, OWNER, packPackage, storeCli } from '../../test/support/real-n8n';
import { httpDoorCredential, notifySmtpCredential, startMailSink, templateCopy, templatePath } from '../../test/support/real-n8n-setup';
import { DEMO_ADDRESS, demoDir, demoKey, demoStatePath, demoZone, savedDemoState, type DemoState } from './state';

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

/** A port the saved workflow or credential names must be free again: say so, rather than start half a demo. */
async function keptPort(port: number, what: string): Promise<number> {
	if (!(await portIsFree(port))) throw new Error(`port ${port} (${what}) is in use: is the demo already running? Stop it, or free the port`);
	return port;
}

async function main(): Promise<void> {
	const dir = demoDir();
	fs.mkdirSync(dir, { recursive: true });
	// A later start keeps what the first one set up (workflow, credentials, store, executions) and its ports.
	const saved = savedDemoState();
	const editorPort = saved ? await keptPort(saved.editorPort, 'the editor') : Number(process.env.DEMO_EDITOR_PORT) || (await pickPort(5678));
	const smtpPort = saved ? await keptPort(saved.smtpPort, 'the hosted address') : Number(process.env.DEMO_SMTP_PORT) || (await pickPort(2525));
	// Team notifications from the template's Send Email nodes land here and are printed.
	const sink = await startMailSink((message) => {
		const subject = /^Subject: (.*)$/m.exec(message.raw)?.[1] ?? '';
		process.stdout.write(`notification to ${message.to.join(', ')}: ${subject}\n`);
	}, saved ? await keptPort(saved.sinkPort, 'the notification mail sink') : 0);
	const key = demoKey(saved?.privateKey);
	// Offline DNS with the demo company's DKIM key: the sample mail is judged the same on any machine. An extra zone
	// file (HOSTED_INBOX_DEMO_ZONE, e.g. a domain publishing p=quarantine) is merged in.
	const zoneFile = path.join(dir, 'demo-zone.json');
	const extraZone = process.env.HOSTED_INBOX_DEMO_ZONE ? loadZoneFile(process.env.HOSTED_INBOX_DEMO_ZONE) : {};
	fs.writeFileSync(zoneFile, JSON.stringify(zoneOf(extraZone, demoZone(key))));

	// The HTTP door's bearer token, made once; a demo folder from before the HTTP template gets it added.
	const httpToken = saved?.httpToken ?? randomBytes(24).toString('hex');
	const addHttp = !saved?.httpWorkflowId;

	process.stderr.write(saved ? `demo: starting n8n in ${dir}\n` : `demo: setting up n8n in ${dir} (a first install of n8n takes several minutes)\n`);
	const n8n = await N8n.start({
		version: N8N_CURRENT,
		port: editorPort,
		userFolder: dir,
		// The current checkout's package, installed again at every start.
		tarball: packPackage({ build: false }),
		credentials: [...(saved ? [] : [notifySmtpCredential(sink.port)]), ...(addHttp ? [httpDoorCredential({ token: httpToken })] : [])],
		workflows: [...(saved ? [] : [templateCopy('hosted-inbox-smtp.json', { smtpPort })]), ...(addHttp ? [templateCopy('hosted-inbox-http.json', {})] : [])],
		// Attachments are handed to n8n as streams: in filesystem mode (n8n's default for regular mode, said here) they go
		// to disk, never into memory.
		env: { HOSTED_INBOX_DNS_ZONE: zoneFile, N8N_DEFAULT_BINARY_DATA_MODE: 'filesystem' },
		beforeStart: saved
			? undefined
			: async (instance) => {
					const seeded = await storeCli(instance.install, instance.embeddedStorePath, ['seed', path.join(__dirname, 'seed.json')]);
					process.stderr.write(`demo: ${seeded.trim()}\n`);
				},
	});
	let stopping = false;
	const stop = async (signal: string): Promise<void> => {
		if (stopping) return;
		stopping = true;
		process.stderr.write(`demo: ${signal}, stopping n8n (everything stays in ${dir})\n`);
		await n8n.stop();
		await sink.close();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop('SIGINT'));
	process.on('SIGTERM', () => void stop('SIGTERM'));

	const workflowId = saved?.workflowId ?? n8n.workflowIds[0];
	const httpWorkflowId = saved?.httpWorkflowId ?? n8n.workflowIds[saved ? 0 : 1];
	const webhookId = (JSON.parse(fs.readFileSync(templatePath('hosted-inbox-http.json'), 'utf8')) as { nodes: Array<{ webhookId?: string }> }).nodes.find((n) => n.webhookId)!.webhookId;
	try {
		await n8n.activate(workflowId);
		await n8n.activate(httpWorkflowId);
		await waitForPort(smtpPort);
	} catch (error) {
		await n8n.stop();
		await sink.close();
		throw error;
	}
	const state: DemoState = {
		workflowId,
		editorPort,
		sinkPort: sink.port,
		editor: `${n8n.url}/workflow/${workflowId}`,
		address: DEMO_ADDRESS,
		smtpHost: '127.0.0.1',
		smtpPort,
		store: n8n.embeddedStorePath,
		nodeBin: n8n.install.nodeBin,
		privateKey: key.privateKey,
		httpWorkflowId,
		httpUrl: `${n8n.url}/webhook/${webhookId}`,
		httpToken,
	};
	fs.writeFileSync(demoStatePath(), JSON.stringify(state, null, 2));
	process.stderr.write(`demo: sign in as ${OWNER.email} / ${OWNER.password}; Ctrl-C stops n8n\n`);
	process.stdout.write(
		`editor: ${state.editor}\nforwarding address: ${state.address}\nsmtp: ${state.smtpHost}:${state.smtpPort}\nhttp: ${state.httpUrl} ${state.httpToken}\nstore: ${state.store}\nfolder: ${dir}\n`,
	);
}

main().catch((error: Error) => {
	process.stderr.write(`demo: ${error.message}\n`);
	process.exit(1);
});
