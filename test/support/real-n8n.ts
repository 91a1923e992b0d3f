/**
 * A real n8n for end-to-end runs: installed from the npm registry into a cache outside the repo
 * (install-n8n.sh), with this package installed the way n8n's community-node installer does it,
 * started headless on loopback (regular mode on SQLite, or queue mode on PostgreSQL + Redis with one worker),
 * driven through its CLI (import) and its public API (activate, executions). Used by test/e2e, the demo and bench:imap:n8n;
 * the in-process harness that runs our nodes in n8n's engine without an n8n is n8n-engine.ts.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './ports';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const PACKAGE_NAME: string = JSON.parse(
	fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'),
).name;
/** The n8n versions the end-to-end run verifies: the current 2.x line, and the newest that runs on Node 20. */
export const N8N_CURRENT = '2.41.1';
export const N8N_NODE20 = '2.8.4';

export const OWNER = {
	email: 'owner@hosted-inbox.test',
	firstName: 'Olivia',
	lastName: 'Owner',
	password: 'Hosted-Inbox-e2e-1',
};

export interface N8nInstall {
	version: string;
	dir: string;
	/** Folder holding the `node` that runs this n8n (Node 24 for 2.9+, the machine's Node for 2.8.x). */
	nodeBin: string;
	n8nBin: string;
}

/** Installs (or finds in the cache) a pinned n8n. The first run takes minutes; later runs are instant. */
export function installN8n(version: string): N8nInstall {
	const out = execFileSync(path.join(__dirname, 'install-n8n.sh'), [version], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const dir = out.trim().split('\n').pop()!;
	return {
		version,
		dir,
		nodeBin: fs.readFileSync(path.join(dir, '.node-bin'), 'utf8').trim(),
		n8nBin: path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
	};
}

/** `npm run build` (unless told not to) and `npm pack` into a temp folder: the tarball n8n would download. */
export function packPackage(options: { build?: boolean } = {}): string {
	if (options.build !== false) {
		execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
	}
	const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-inbox-pack-'));
	const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dest], {
		cwd: REPO_ROOT,
		encoding: 'utf8',
	});
	return path.join(dest, out.trim().split('\n').pop()!);
}

/**
 * Installs the tarball under `<userFolder>/.n8n/nodes` as n8n's community-node installer does (2.8 and 2.41 alike):
 * unpack into node_modules/<name>, drop dev/peer/optional dependencies from its package.json (n8n-workflow
 * must come from n8n itself, which puts its own node_modules on NODE_PATH), install the runtime dependencies
 * inside the package folder without scripts, and record it in the folder's package.json.
 */
export async function installPackage(userFolder: string, tarball: string): Promise<void> {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const packageDir = path.join(nodesDir, 'node_modules', PACKAGE_NAME);
	// A kept user folder gets the current build, not a mix with the files of an earlier one.
	fs.rmSync(packageDir, { recursive: true, force: true });
	fs.mkdirSync(packageDir, { recursive: true });
	await execFileAsync('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
	const manifestPath = path.join(packageDir, 'package.json');
	const { devDependencies, peerDependencies, optionalDependencies, ...manifest } = JSON.parse(
		fs.readFileSync(manifestPath, 'utf8'),
	);
	void devDependencies;
	void peerDependencies;
	void optionalDependencies;
	fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	await execFileAsync(
		'npm',
		[
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
			'--loglevel=error',
		],
		{ cwd: packageDir, maxBuffer: 16 * 1024 * 1024 },
	);
	fs.writeFileSync(
		path.join(nodesDir, 'package.json'),
		JSON.stringify({ name: 'installed-nodes', private: true, dependencies: { [PACKAGE_NAME]: manifest.version } }, null, 2),
	);
}

/**
 * n8n modules that fetch from n8n's servers on a timer (2.4x's MCP server registry), disabled where the
 * installed version has them: an unknown name in N8N_DISABLED_MODULES stops n8n from starting.
 */
function offlineModules(install: N8nInstall): NodeJS.ProcessEnv {
	const config = path.join(install.dir, 'node_modules', '@n8n', 'backend-common', 'dist', 'modules', 'modules.config.js');
	const known = fs.existsSync(config) ? fs.readFileSync(config, 'utf8') : '';
	const disabled = ['mcp-registry'].filter((name) => known.includes(`'${name}'`));
	return disabled.length ? { N8N_DISABLED_MODULES: disabled.join(',') } : {};
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * fetch, and for a GET once more when the connection failed: n8n may close a kept-alive connection just as the
 * next request goes out on it (undici: "other side closed"), which says nothing about n8n. Other methods are not
 * repeated.
 */
async function fetchN8n(url: string, init: RequestInit = {}): Promise<Response> {
	try {
		return await fetch(url, init);
	} catch (error) {
		if ((init.method ?? 'GET') !== 'GET') throw error;
		await sleep(250);
		return await fetch(url, init);
	}
}

/**
 * `hosted-inbox store ...` from the built package, on the Node that runs n8n (the embedded store needs
 * node:sqlite, so Node 24 for 2.41), against the store the workflow uses.
 */
export async function storeCli(install: N8nInstall, store: string, args: string[]): Promise<string> {
	const { stdout } = await execFileAsync(
		path.join(install.nodeBin, 'node'),
		[path.join(REPO_ROOT, 'dist', 'cli', 'hosted-inbox.js'), 'store', ...args, '--store', store],
		{ maxBuffer: 64 * 1024 * 1024 },
	);
	return stdout;
}

/** `hosted-inbox store <what> list --json`: the records, as scripts read them. */
export async function storeList<T>(
	install: N8nInstall,
	store: string,
	what: 'agents' | 'teams' | 'contacts' | 'conversations' | 'tickets' | 'intake' | 'spool',
): Promise<T[]> {
	return JSON.parse(await storeCli(install, store, [what, 'list', '--json'])) as T[];
}

export interface StartOptions {
	version?: string;
	mode?: 'regular' | 'queue';
	/** Our package as a tarball (packPackage()); null starts a bare n8n. */
	tarball?: string | null;
	/** Workflow JSON files imported with n8n's CLI before start (ids are kept, or given when missing). */
	workflows?: string[];
	/** Credentials (decrypted `data`, with ids) imported with n8n's CLI before the workflows that use them. */
	credentials?: Array<{ id: string; name: string; type: string; data: Record<string, unknown> }>;
	/** Runs after the imports, before n8n starts (e.g. seeding the embedded store in the user folder). */
	beforeStart?: (n8n: N8n) => Promise<void>;
	/** Extra environment for n8n (main and worker). */
	env?: Record<string, string>;
	port?: number;
	/**
	 * A user folder kept across runs (the demo's): created when missing, never removed. n8n keeps its database,
	 * executions and its own encryption key in it, so credentials still decrypt on the next start.
	 */
	userFolder?: string;
	/** Echo n8n's output to this process's stderr as well as the log file. */
	echo?: boolean;
	/**
	 * Queue mode only: `n8n webhook` processes serving the production webhooks (main then serves none), each on its
	 * own port, listed in `webhookUrls`.
	 */
	webhookProcesses?: number;
}

export interface Execution {
	id: string;
	workflowId: string;
	status: string;
	mode: string;
	finished: boolean;
	startedAt: string;
	stoppedAt: string | null;
	data?: { resultData: { error?: { message: string }; runData: Record<string, Array<Record<string, unknown>>> } };
}

interface ProcessHandle {
	name: string;
	child: ChildProcess;
	log: string;
	output: string[];
	exited: Promise<number | null>;
}

/** A running n8n (and, in queue mode, its worker). */
export class N8n {
	readonly url: string;
	/** Where production webhooks are served: main, or each `n8n webhook` process (queue mode). */
	readonly webhookUrls: string[] = [];
	readonly workflowIds: string[] = [];
	/** Milliseconds spent in each start-up step (reported by the e2e run and docs/e2e.md). */
	readonly timings: Record<string, number> = {};
	private apiKey = '';
	private cookie = '';
	private processes: ProcessHandle[] = [];
	private database: string | null = null;

	private constructor(
		readonly install: N8nInstall,
		readonly options: StartOptions,
		readonly userFolder: string,
		readonly port: number,
		readonly env: NodeJS.ProcessEnv,
	) {
		this.url = `http://127.0.0.1:${port}`;
	}

	get editorUrl(): string {
		return `${this.url}/`;
	}

	/** Where the package's embedded store lives for this n8n (the nodes' default: n8n's data folder). */
	get embeddedStorePath(): string {
		return path.join(this.userFolder, '.n8n', 'hosted-inbox.sqlite');
	}

	get logFile(): string {
		return path.join(this.userFolder, 'main.log');
	}

	static async start(options: StartOptions = {}): Promise<N8n> {
		const install = installN8n(options.version ?? N8N_CURRENT);
		const mode = options.mode ?? 'regular';
		const userFolder = options.userFolder ?? fs.mkdtempSync(path.join(os.tmpdir(), `hosted-inbox-n8n-${install.version}-`));
		fs.mkdirSync(userFolder, { recursive: true });
		const port = options.port ?? (await freePort());
		const env: NodeJS.ProcessEnv = {
			...process.env,
			PATH: `${install.nodeBin}${path.delimiter}${process.env.PATH}`,
			// Under jest NODE_ENV is "test", which silences n8n's logger (and its CLI's "Successfully imported").
			NODE_ENV: 'production',
			N8N_USER_FOLDER: userFolder,
			N8N_PORT: String(port),
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_HOST: '127.0.0.1',
			N8N_PROTOCOL: 'http',
			N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}/`,
			WEBHOOK_URL: `http://127.0.0.1:${port}/`,
			// Shared by main and worker: each would otherwise make its own key in its own user folder. A kept folder
			// has its own key already (n8n writes it there on first start).
			...(options.userFolder ? {} : { N8N_ENCRYPTION_KEY: randomBytes(24).toString('hex') }),
			N8N_DIAGNOSTICS_ENABLED: 'false',
			N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
			N8N_PERSONALIZATION_ENABLED: 'false',
			N8N_TEMPLATES_ENABLED: 'false',
			N8N_HIRING_BANNER_ENABLED: 'false',
			N8N_SECURE_COOKIE: 'false',
			N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
			N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
			N8N_PUBLIC_API_DISABLED: 'false',
			N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info',
			N8N_LOG_OUTPUT: 'console',
			EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
			EXECUTIONS_DATA_SAVE_ON_ERROR: 'all',
			// Internal task runners listen on a broker port (5679 by default): every n8n process here needs its own.
			N8N_RUNNERS_BROKER_PORT: String(await freePort()),
			N8N_RUNNERS_MODE: 'internal',
			...offlineModules(install),
			...options.env,
		};
		if (options.webhookProcesses) {
			if (mode !== 'queue') throw new Error('n8n webhook processes run only in queue mode');
			env.N8N_DISABLE_PRODUCTION_MAIN_PROCESS = 'true';
		}
		const n8n = new N8n(install, options, userFolder, port, env);
		try {
			if (mode === 'queue') await n8n.timed('database', () => n8n.useQueueMode());
			if (options.tarball) await n8n.timed('installPackage', () => installPackage(userFolder, options.tarball!));
			if (options.credentials?.length) await n8n.timed('import', () => n8n.importCredentials(options.credentials!));
			if (options.workflows?.length) await n8n.timed('import', () => n8n.importWorkflows(options.workflows!));
			if (options.beforeStart) await n8n.timed('beforeStart', () => options.beforeStart!(n8n));
			await n8n.timed('startMain', () => n8n.startMain());
			if (mode === 'queue') await n8n.timed('startWorker', () => n8n.startWorker());
			for (let index = 0; index < (options.webhookProcesses ?? 0); index++) await n8n.timed('startWebhook', () => n8n.startWebhookProcess(index));
			if (!n8n.webhookUrls.length) n8n.webhookUrls.push(n8n.url);
			await n8n.timed('setupOwner', () => n8n.setupOwner());
		} catch (error) {
			await n8n.stop();
			const tail = n8n.processes.map((p) => `--- ${p.name}\n${p.output.slice(-40).join('')}`).join('\n');
			(error as Error).message += tail ? `\n${tail}` : '';
			throw error;
		}
		return n8n;
	}

	private async timed<T>(step: string, run: () => Promise<T>): Promise<T> {
		const started = Date.now();
		try {
			return await run();
		} finally {
			this.timings[step] = (this.timings[step] ?? 0) + Date.now() - started;
		}
	}

	/** PostgreSQL for n8n's own data (a fresh database per run), Redis for the queue (a prefix per run). */
	private async useQueueMode(): Promise<void> {
		const runId = randomBytes(4).toString('hex');
		this.database = `hosted_inbox_e2e_${runId}`;
		await execFileAsync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', `CREATE DATABASE ${this.database}`]);
		Object.assign(this.env, {
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: '127.0.0.1',
			DB_POSTGRESDB_PORT: '5432',
			DB_POSTGRESDB_USER: 'postgres',
			DB_POSTGRESDB_PASSWORD: '',
			DB_POSTGRESDB_DATABASE: this.database,
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: '6379',
			QUEUE_BULL_PREFIX: `hosted-inbox-e2e-${runId}`,
			// n8n caches webhook paths in Redis too: another run's entry for the same path would be a "conflict".
			N8N_CACHE_REDIS_KEY_PREFIX: `hosted-inbox-e2e-${runId}-cache`,
			OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		});
	}

	get databaseName(): string | null {
		return this.database;
	}

	/**
	 * An n8n CLI command against this instance's database and user folder: its output, and its failure if it exited
	 * non-zero. Callers judge by what the command did (the output, the stored execution), never by the exit code
	 * alone: n8n 2.41.1 can exit non-zero after doing its work.
	 */
	private async cli(args: string[]): Promise<{ output: string; failure: Error | null }> {
		try {
			const { stdout, stderr } = await execFileAsync(path.join(this.install.nodeBin, 'node'), [this.install.n8nBin, ...args], {
				// Each CLI process boots its own task broker: it needs a port of its own too.
				env: { ...this.env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) },
				maxBuffer: 64 * 1024 * 1024,
				timeout: 180_000,
			});
			return { output: `${stdout}${stderr}`, failure: null };
		} catch (error) {
			const e = error as { stdout?: string; stderr?: string; message: string };
			return { output: `${e.stdout ?? ''}${e.stderr ?? ''}`, failure: new Error(`n8n ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`) };
		}
	}

	/**
	 * Imports workflow files with one `n8n import:workflow --separate` (before start: n8n reads its database at
	 * startup; every CLI command boots n8n, so one call for all). A file without an id gets one, so it can be
	 * activated and its executions found.
	 */
	async importWorkflows(files: string[]): Promise<string[]> {
		const dir = fs.mkdtempSync(path.join(this.userFolder, 'import-'));
		const ids = files.map((file) => {
			const workflow = JSON.parse(fs.readFileSync(file, 'utf8'));
			const id: string = workflow.id ?? randomBytes(8).toString('hex');
			fs.writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ ...workflow, id, active: false }));
			return id;
		});
		const { output, failure } = await this.cli(['import:workflow', '--separate', `--input=${dir}`]);
		fs.rmSync(dir, { recursive: true, force: true });
		if (!new RegExp(`Successfully imported ${files.length} workflows?`, 'i').test(output)) {
			throw new Error(`n8n import:workflow did not import ${files.join(', ')}:\n${failure?.message ?? output}`);
		}
		this.workflowIds.push(...ids);
		return ids;
	}

	/** `n8n import:credentials` (one call for all) encrypts plain `data` with the instance's key on the way in. */
	async importCredentials(credentials: NonNullable<StartOptions['credentials']>): Promise<void> {
		const file = path.join(this.userFolder, `credentials-${randomBytes(4).toString('hex')}.json`);
		fs.writeFileSync(file, JSON.stringify(credentials));
		const { output, failure } = await this.cli(['import:credentials', `--input=${file}`]);
		fs.rmSync(file, { force: true });
		if (!new RegExp(`Successfully imported ${credentials.length} credentials?`, 'i').test(output)) {
			throw new Error(`n8n import:credentials did not import ${credentials.map((c) => c.name).join(', ')}:\n${failure?.message ?? output}`);
		}
	}

	private spawnN8n(name: string, args: string[], env: NodeJS.ProcessEnv): ProcessHandle {
		const log = path.join(env.N8N_USER_FOLDER!, `${name}.log`);
		const logStream = fs.createWriteStream(log);
		// detached: n8n gets its own process group, so stop() can also end the task runners it spawned.
		const child = spawn(path.join(this.install.nodeBin, 'node'), [this.install.n8nBin, ...args], {
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
			detached: true,
		});
		const output: string[] = [];
		const onData = (chunk: Buffer): void => {
			const text = chunk.toString();
			output.push(text);
			if (output.length > 20_000) output.splice(0, output.length - 20_000);
			logStream.write(chunk);
			if (this.options.echo) process.stderr.write(text);
		};
		child.stdout!.on('data', onData);
		child.stderr!.on('data', onData);
		const exited = new Promise<number | null>((resolve) =>
			child.once('exit', (code) => {
				logStream.end();
				resolve(code);
			}),
		);
		const handle = { name, child, log, output, exited };
		this.processes.push(handle);
		return handle;
	}

	/** Waits until `check` passes, failing early with the log if the process dies first. */
	private async waitFor(handle: ProcessHandle, what: string, check: () => Promise<boolean> | boolean, timeoutMs = 240_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		let dead = false;
		void handle.exited.then(() => (dead = true));
		while (Date.now() < deadline) {
			if (dead) throw new Error(`n8n ${handle.name} exited before ${what} (log: ${handle.log})`);
			if (await check()) return;
			await sleep(300);
		}
		throw new Error(`n8n ${handle.name}: no ${what} after ${timeoutMs} ms (log: ${handle.log})`);
	}

	private async startMain(): Promise<void> {
		const main = this.spawnN8n('main', ['start'], this.env);
		await this.waitFor(main, 'editor', async () => {
			if (!main.output.join('').includes('Editor is now accessible')) return false;
			try {
				return (await fetch(`${this.url}/healthz/readiness`)).ok;
			} catch {
				return false;
			}
		});
	}

	/** The worker has its own user folder, with the package installed too: it runs the nodes of each job. */
	private async startWorker(): Promise<void> {
		const folder = path.join(this.userFolder, 'worker');
		fs.mkdirSync(folder, { recursive: true });
		if (this.options.tarball) await installPackage(folder, this.options.tarball);
		const env = {
			...this.env,
			N8N_USER_FOLDER: folder,
			N8N_RUNNERS_BROKER_PORT: String(await freePort()),
			QUEUE_HEALTH_CHECK_PORT: String(await freePort()),
			N8N_WORKER_SERVER_PORT: String(await freePort()),
		};
		const worker = this.spawnN8n('worker', ['worker', '--concurrency=5'], env);
		await this.waitFor(worker, 'worker ready', () => /n8n worker is now ready|Worker started/i.test(worker.output.join('')));
	}

	/** An `n8n webhook` process (queue mode): its own user folder with the package, its own port; runs webhook() only. */
	private async startWebhookProcess(index: number): Promise<void> {
		const name = `webhook-${index + 1}`;
		const folder = path.join(this.userFolder, name);
		fs.mkdirSync(folder, { recursive: true });
		if (this.options.tarball) await installPackage(folder, this.options.tarball);
		const port = await freePort();
		const env = { ...this.env, N8N_USER_FOLDER: folder, N8N_PORT: String(port), N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
		const handle = this.spawnN8n(name, ['webhook'], env);
		await this.waitFor(handle, 'webhook listener', () => handle.output.join('').includes('Webhook listener waiting for requests'));
		this.webhookUrls.push(`http://127.0.0.1:${port}`);
	}

	/**
	 * Creates the owner (so no setup prompt appears), or signs in as it in a kept user folder that has one, and
	 * makes an API key for the public API.
	 */
	private async setupOwner(): Promise<void> {
		const post = (route: string, body: unknown) =>
			fetch(`${this.url}/rest${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'browser-id': 'hosted-inbox-e2e' }, body: JSON.stringify(body) });
		const settings = (await (await fetchN8n(`${this.url}/rest/settings`)).json()) as { data?: { userManagement?: { showSetupOnFirstLoad?: boolean } } };
		const signIn =
			settings.data?.userManagement?.showSetupOnFirstLoad === false
				? await post('/login', { emailOrLdapLoginId: OWNER.email, email: OWNER.email, password: OWNER.password })
				: await post('/owner/setup', OWNER);
		if (!signIn.ok) throw new Error(`owner sign-in: HTTP ${signIn.status} ${await signIn.text()}`);
		this.cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
		const scopes = (await this.rest<string[]>('GET', '/api-keys/scopes')) ?? [];
		const key = await this.rest<{ rawApiKey?: string; apiKey: string }>('POST', '/api-keys', {
			label: `hosted-inbox ${new Date().toISOString()}`,
			expiresAt: null,
			scopes,
		});
		this.apiKey = key.rawApiKey ?? key.apiKey;
	}

	/** n8n's internal REST API (what the editor uses), logged in as the owner. */
	async rest<T>(method: string, route: string, body?: unknown): Promise<T> {
		const response = await fetchN8n(`${this.url}/rest${route}`, {
			method,
			headers: { cookie: this.cookie, 'content-type': 'application/json', 'browser-id': 'hosted-inbox-e2e' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`${method} /rest${route}: HTTP ${response.status} ${text}`);
		const json = text ? JSON.parse(text) : {};
		return (json.data ?? json) as T;
	}

	/** n8n's public API (/api/v1), with the owner's API key. */
	async api<T>(method: string, route: string, body?: unknown): Promise<T> {
		const response = await fetchN8n(`${this.url}/api/v1${route}`, {
			method,
			headers: { 'x-n8n-api-key': this.apiKey, 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`${method} /api/v1${route}: HTTP ${response.status} ${text}`);
		return (text ? JSON.parse(text) : {}) as T;
	}

	/** Activates (publishes, in 2.x words) a workflow in the running n8n; activation errors come back here. */
	async activate(workflowId: string): Promise<void> {
		const workflow = await this.api<{ active: boolean }>('POST', `/workflows/${workflowId}/activate`);
		if (!workflow.active) throw new Error(`workflow ${workflowId} is not active after activation`);
	}

	/**
	 * Runs a workflow from its Manual Trigger with `n8n execute` (in its own process, regular mode) and returns the
	 * stored execution, with its data. n8n's exit code is not the verdict: 2.41.1 can exit non-zero after a stored,
	 * successful run. The stored execution is; the CLI's error is the diagnostic when none was stored.
	 */
	async runManually(workflowId: string, timeoutMs = 120_000): Promise<Execution> {
		const before = (await this.executions(workflowId)).length;
		const { failure } = await this.cli(['execute', `--id=${workflowId}`, '--rawOutput']);
		if (failure && (await this.executions(workflowId)).length === before) throw failure;
		const finished = await this.waitForExecutions(workflowId, before + 1, timeoutMs);
		return await this.execution(finished[finished.length - 1].id);
	}

	/** Every execution (of a workflow), newest first: the public API's pages of 250 followed to the end. */
	async executions(workflowId?: string): Promise<Execution[]> {
		const all: Execution[] = [];
		let cursor: string | null | undefined;
		do {
			const query = new URLSearchParams({ limit: '250' });
			if (workflowId) query.set('workflowId', workflowId);
			if (cursor) query.set('cursor', cursor);
			const page = await this.api<{ data: Execution[]; nextCursor?: string | null }>('GET', `/executions?${query}`);
			all.push(...page.data);
			cursor = page.nextCursor;
		} while (cursor);
		return all;
	}

	async execution(id: string): Promise<Execution> {
		return await this.api<Execution>('GET', `/executions/${id}?includeData=true`);
	}

	/** Waits until a workflow has `count` finished executions (any status) and returns them, oldest first. */
	async waitForExecutions(workflowId: string, count: number, timeoutMs = 60_000): Promise<Execution[]> {
		const deadline = Date.now() + timeoutMs;
		let done: Execution[] = [];
		while (Date.now() < deadline) {
			done = (await this.executions(workflowId)).filter((e) => !['new', 'running', 'waiting'].includes(e.status));
			if (done.length >= count) return done.sort((a, b) => Number(a.id) - Number(b.id));
			await sleep(500);
		}
		throw new Error(`workflow ${workflowId}: ${done.length} of ${count} executions finished after ${timeoutMs} ms`);
	}

	/** The node types this n8n knows (the editor's own list). */
	async nodeTypes(): Promise<Array<{ name: string; version: number | number[]; displayName: string }>> {
		const response = await fetchN8n(`${this.url}/types/nodes.json`, { headers: { cookie: this.cookie } });
		if (!response.ok) throw new Error(`GET /types/nodes.json: HTTP ${response.status}`);
		return (await response.json()) as Array<{ name: string; version: number | number[]; displayName: string }>;
	}

	/** Output of n8n and its worker so far (for assertions on log lines and for failure messages). */
	output(name: 'main' | 'worker' | `webhook-${number}` = 'main'): string {
		return this.processes.find((p) => p.name === name)?.output.join('') ?? '';
	}

	/** SIGTERM (n8n's graceful shutdown), SIGKILL after a grace period; then drops the run's database. */
	async stop(graceMs = 45_000): Promise<void> {
		for (const handle of [...this.processes].reverse()) {
			const { child } = handle;
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGTERM');
				const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
				await handle.exited;
				clearTimeout(timer);
			}
			// Task runners are in n8n's process group: end any left behind.
			try {
				process.kill(-child.pid!, 'SIGKILL');
			} catch {
				// the group is already gone
			}
		}
		if (this.database) {
			await execFileAsync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', `DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`]).catch(() => undefined);
			this.database = null;
		}
		if (!this.options.userFolder && !process.env.HOSTED_INBOX_E2E_KEEP) {
			fs.rmSync(this.userFolder, { recursive: true, force: true });
		}
	}
}
