/**
 * A throwaway PostgreSQL cluster a test starts itself (initdb + pg_ctl into a temp dir, on a free loopback port,
 * its unix socket in that dir), to stop and start as a real database outage: never the shared server on 5432.
 * initdb refuses root: as root the cluster belongs to the `postgres` user and its commands run through runuser.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { gate, type Gate } from './gates';
import { freePort } from './ports';

const run = promisify(execFile);
const CLUSTER_USER = 'postgres';

/** The server binaries: on PATH (HOSTED_INBOX_PG_BIN first), else Debian's /usr/lib/postgresql/<version>/bin (newest). */
function binDir(): string | null {
	const candidates = [process.env.HOSTED_INBOX_PG_BIN, ...(process.env.PATH ?? '').split(':')];
	const debian = '/usr/lib/postgresql';
	if (existsSync(debian)) {
		const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
		candidates.push(...versions.map((v) => join(debian, v, 'bin')));
	}
	return candidates.find((dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) ?? null;
}

function userIds(name: string): { uid: number; gid: number } | null {
	const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
	const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
	return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout) } : null;
}

const asRoot = () => process.getuid?.() === 0;

/** Why no cluster can be started here, or null. */
function missing(): string | null {
	if (!binDir()) return 'initdb and pg_ctl not found (install the PostgreSQL server, or set HOSTED_INBOX_PG_BIN)';
	if (asRoot() && !userIds(CLUSTER_USER)) return `running as root and there is no "${CLUSTER_USER}" user to own the cluster (initdb refuses root)`;
	return null;
}

/** Runs its tests when a throwaway cluster can be started (under CI=true a missing one fails them). */
export function pgClusterGate(): Gate {
	return gate('a throwaway PostgreSQL cluster', missing());
}

export class PgCluster {
	private constructor(
		private readonly bin: string,
		readonly dir: string,
		readonly port: number,
	) {}

	/** postgres://postgres@127.0.0.1:<port>/postgres (trust on loopback). */
	get url(): string {
		return `postgres://${CLUSTER_USER}@127.0.0.1:${this.port}/postgres`;
	}

	private get dataDir(): string {
		return join(this.dir, 'data');
	}

	static async create(): Promise<PgCluster> {
		const bin = binDir();
		if (!bin) throw new Error(missing() ?? 'no PostgreSQL binaries');
		const dir = mkdtempSync(join(tmpdir(), 'hi-pg-cluster-'));
		if (asRoot()) {
			const ids = userIds(CLUSTER_USER)!;
			chownSync(dir, ids.uid, ids.gid);
		}
		const cluster = new PgCluster(bin, dir, await freePort());
		try {
			await cluster.pg('initdb', ['-D', cluster.dataDir, '-U', CLUSTER_USER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
			await cluster.start();
		} catch (error) {
			await cluster.destroy();
			throw error;
		}
		return cluster;
	}

	/** Starts the server and waits until it accepts connections. */
	async start(): Promise<void> {
		const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
		await this.pg('pg_ctl', ['-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
	}

	/** Stops it as a crash would: no shutdown checkpoint, every connection dropped at once. */
	async stopImmediately(): Promise<void> {
		await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
	}

	/** Stops the server if it runs (killing it when pg_ctl cannot) and removes its files. Never throws. */
	async destroy(): Promise<void> {
		const pidFile = join(this.dataDir, 'postmaster.pid');
		if (existsSync(pidFile)) {
			await this.stopImmediately().catch(() => {
				const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
				if (pid > 0) {
					try {
						process.kill(pid, 'SIGKILL');
					} catch {
						// Gone already.
					}
				}
			});
		}
		rmSync(this.dir, { recursive: true, force: true });
	}

	private async pg(command: 'initdb' | 'pg_ctl', args: string[]): Promise<void> {
		const path = join(this.bin, command);
		const [file, argv] = asRoot() ? ['runuser', ['-u', CLUSTER_USER, '--', path, ...args]] : [path, args];
		try {
			await run(file, argv, { cwd: this.dir, timeout: 120_000 });
		} catch (error) {
			const e = error as { stderr?: string; message: string };
			throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
		}
	}
}
