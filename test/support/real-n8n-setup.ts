/**
 * What a run of the package in a real n8n needs around n8n itself (shared by test/e2e and the demo): our node
 * types as n8n will name them, template copies with a run's port and store, credentials, a mail sink, databases.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { SMTPServer } from 'smtp-server';

import { PACKAGE_NAME, REPO_ROOT } from './real-n8n';

const execFileAsync = promisify(execFile);

export interface OurNodeType {
	/** As n8n names it once installed: `n8n-nodes-hosted-inbox.<name>`. */
	type: string;
	displayName: string;
	versions: number[];
	propertyNames: string[];
}

/**
 * Our node types, read from the built package the way n8n reads them (package.json `n8n.nodes`), in a plain Node
 * process: the package's ESM-only dependency loads there as in n8n, not in jest's module system.
 */
export function ourNodeTypes(): OurNodeType[] {
	const script = `
		const path = require('node:path');
		const manifest = require(path.resolve('package.json'));
		const types = manifest.n8n.nodes.map((file) => {
			const NodeClass = Object.values(require(path.resolve(file)))[0];
			const { description } = new NodeClass();
			return {
				type: manifest.name + '.' + description.name,
				displayName: description.displayName,
				versions: [].concat(description.version),
				propertyNames: description.properties.map((p) => p.name),
			};
		});
		process.stdout.write(JSON.stringify(types));`;
	return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8' })) as OurNodeType[];
}

export function templatePath(name: string): string {
	return path.join(REPO_ROOT, 'workflows', name);
}

export interface StoreChoice {
	/** n8n credential (type `postgres`) the nodes use for a PostgreSQL store; absent = the embedded store. */
	postgresCredential?: { id: string; name: string };
	schema?: string;
}

/**
 * A copy of a template for one run: its SMTP listener on the given port and every one of our nodes on the given
 * store. The template itself stays as shipped; only what a user would set in the editor changes.
 */
export function templateCopy(
	name: string,
	changes: {
		smtpPort?: number;
		store?: StoreChoice;
		/** The Hosted Inbox Trigger's parameters set as a user would (merged), and its own webhook id. */
		trigger?: { parameters?: Record<string, unknown>; webhookId?: string };
		/** Another name, to import the same template more than once. */
		workflowName?: string;
	},
): string {
	const workflow = JSON.parse(fs.readFileSync(templatePath(name), 'utf8'));
	if (changes.workflowName) workflow.name = changes.workflowName;
	const withStore = new Set(ourNodeTypes().filter((n) => n.propertyNames.includes('store')).map((n) => n.type));
	for (const node of workflow.nodes) {
		if (changes.smtpPort !== undefined && 'smtpPort' in node.parameters) node.parameters.smtpPort = changes.smtpPort;
		if (changes.trigger && node.type === `${PACKAGE_NAME}.hostedInboxTrigger`) {
			Object.assign(node.parameters, changes.trigger.parameters);
			if (changes.trigger.webhookId) node.webhookId = changes.trigger.webhookId;
		}
		const credential = changes.store?.postgresCredential;
		if (credential && withStore.has(node.type)) {
			node.parameters.store = 'postgres';
			if (changes.store?.schema) node.parameters.storeSchema = changes.store.schema;
			node.credentials = { ...node.credentials, postgres: credential };
		}
	}
	const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-inbox-template-')), name);
	fs.writeFileSync(file, JSON.stringify(workflow, null, 2));
	return file;
}

/** n8n's `postgres` credential for the store, in the shape `n8n import:credentials` takes (encrypted on import). */
export function postgresCredential(database: string): { id: string; name: string; type: string; data: Record<string, unknown> } {
	return {
		id: `hiPg${randomBytes(6).toString('hex')}`,
		name: 'Hosted inbox store (PostgreSQL)',
		type: 'postgres',
		data: { host: '127.0.0.1', port: 5432, database, user: 'postgres', password: '', ssl: 'disable', allowUnauthorizedCerts: false },
	};
}

/** The HTTP template's door credential (its id and name as the template names it). */
export function httpDoorCredential(data: { token?: string; hmacSecret?: string; mailgunSigningSecret?: string }): { id: string; name: string; type: string; data: Record<string, unknown> } {
	return { id: 'hostedInboxHttpDoor', name: 'Hosted inbox HTTP door', type: 'hostedInboxHttpApi', data };
}

/** The SMTP credential the templates' notification steps use, pointed at a local mail sink. */
export function notifySmtpCredential(port: number): { id: string; name: string; type: string; data: Record<string, unknown> } {
	return {
		id: 'hostedInboxNotifySmtp',
		name: 'Team notifications (SMTP)',
		type: 'smtp',
		data: { host: '127.0.0.1', port, secure: false, disableStartTls: true, user: '', password: '' },
	};
}

export interface SinkMessage {
	from: string;
	to: string[];
	raw: string;
}

/** A local SMTP server that keeps what n8n's Send Email nodes send (the team notifications); any free port by default. */
export async function startMailSink(
	onMessage?: (message: SinkMessage) => void,
	port = 0,
): Promise<{ port: number; messages: SinkMessage[]; close(): Promise<void> }> {
	const messages: SinkMessage[] = [];
	const server = new SMTPServer({
		authOptional: true,
		disabledCommands: ['STARTTLS'],
		logger: false,
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (chunk: Buffer) => chunks.push(chunk));
			stream.on('end', () => {
				const message = {
					from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
					to: session.envelope.rcptTo.map((r) => r.address),
					raw: Buffer.concat(chunks).toString('utf8'),
				};
				messages.push(message);
				onMessage?.(message);
				callback();
			});
		},
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', resolve);
	});
	return { port: (server.server.address() as { port: number }).port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A throwaway PostgreSQL database (the store's, or n8n's own in queue mode). */
export async function createDatabase(prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
	const name = `${prefix}_${randomBytes(4).toString('hex')}`;
	const psql = (sql: string) => execFileAsync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', sql]);
	await psql(`CREATE DATABASE ${name}`);
	return {
		name,
		url: `postgres://postgres@127.0.0.1:5432/${name}`,
		drop: async () => {
			await psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
		},
	};
}
