/**
 * A throwaway Dovecot for the IMAP suites: its own config, maildir and sockets in a temp dir, one IMAP
 * listener on a free loopback port, plaintext login allowed (loopback only), one passwd-file user.
 * Stop/start keep the port and the maildir, so fault tests can take the server away and bring it back.
 * A small TCP proxy lets a test cut every open connection mid-command.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { gate } from './gates';
import { freePort } from './ports';

const run = promisify(execFile);

const DOVECOT_BINARIES = ['/usr/sbin/dovecot', '/usr/bin/dovecot'];

export function dovecotBinary(): string | null {
	return DOVECOT_BINARIES.find((path) => existsSync(path)) ?? null;
}

/** The IMAP suites run against a throwaway Dovecot, gated as gates.ts says. */
export const describeWithDovecot = gate('Dovecot', dovecotBinary() ? null : 'Dovecot is not installed (run scripts/services.sh)').describe;

/** Until Dovecot sends its greeting on the port (accepting the connection is not enough). */
async function waitForGreeting(port: number, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const ok = await new Promise<boolean>((resolve) => {
			const socket = tcpConnect(port, '127.0.0.1');
			socket.once('data', () => {
				socket.destroy();
				resolve(true);
			});
			socket.once('error', () => resolve(false));
		});
		if (ok) return;
		if (Date.now() > deadline) throw new Error(`Dovecot did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

export interface DovecotOptions {
	/** Leave IDLE out of the capabilities, to test the polling fallback. */
	withoutIdle?: boolean;
}

export class Dovecot {
	readonly user = 'support@example.test';
	readonly password = randomBytes(9).toString('base64url');
	readonly dir: string;
	readonly configPath: string;
	private child: ChildProcess | null = null;
	/** Owner of the mail files when we run as root (Dovecot's mail processes run as the dovecot user). */
	private mailOwner: { uid: number; gid: number } | null = null;
	private constructor(
		readonly port: number,
		private readonly options: DovecotOptions,
	) {
		this.dir = mkdtempSync(join(tmpdir(), 'hosted-inbox-dovecot-'));
		this.configPath = join(this.dir, 'dovecot.conf');
	}

	static async start(options: DovecotOptions = {}): Promise<Dovecot> {
		const binary = dovecotBinary();
		if (!binary) throw new Error('Dovecot is not installed (run scripts/services.sh)');
		const dovecot = new Dovecot(await freePort(), options);
		dovecot.writeConfig();
		await dovecot.startServer();
		return dovecot;
	}

	/** Connection settings in the shape of n8n's `imap` credential. */
	get credentials() {
		return { host: '127.0.0.1', port: this.port, secure: false, user: this.user, password: this.password, allowUnauthorizedCerts: false };
	}

	/** The maildir folder of a mailbox ("INBOX" is the maildir root, others are ".Name"). */
	maildir(mailbox = 'INBOX'): string {
		const root = join(this.dir, 'mail', this.user);
		return mailbox === 'INBOX' ? root : join(root, `.${mailbox}`);
	}

	private writeConfig(): void {
		const me = userInfo();
		// As root, mail and internal processes run as Debian's dovecot users; otherwise all as ourselves.
		const mailUser = me.uid === 0 ? 'dovecot' : me.username;
		const loginUser = me.uid === 0 ? 'dovenull' : me.username;
		const home = join(this.dir, 'home');
		for (const sub of ['run', 'state', 'mail', 'home']) mkdirSync(join(this.dir, sub), { recursive: true });
		chmodSync(this.dir, 0o755);
		if (me.uid === 0) {
			const ids = readFileSync('/etc/passwd', 'utf8')
				.split('\n')
				.map((line) => line.split(':'))
				.find((fields) => fields[0] === mailUser);
			if (!ids) throw new Error(`user ${mailUser} is missing (install dovecot-imapd)`);
			this.mailOwner = { uid: Number(ids[2]), gid: Number(ids[3]) };
			for (const sub of ['mail', 'home']) chownSync(join(this.dir, sub), this.mailOwner.uid, this.mailOwner.gid);
		}
		writeFileSync(join(this.dir, 'users'), `${this.user}:{PLAIN}${this.password}::::::\n`, { mode: 0o644 });
		const capabilities = this.options.withoutIdle
			? 'imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SPECIAL-USE'
			: '';
		const config = `# throwaway Dovecot for the hosted-inbox IMAP tests
base_dir = ${join(this.dir, 'run')}
state_dir = ${join(this.dir, 'state')}
instance_name = hosted-inbox-test-${this.port}
log_path = ${join(this.dir, 'dovecot.log')}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${mailUser}
default_internal_group = ${me.uid === 0 ? 'dovecot' : me.username}
default_login_user = ${loginUser}
mail_location = maildir:${join(this.dir, 'mail')}/%u
mail_uid = ${mailUser}
mail_gid = ${me.uid === 0 ? 'dovecot' : me.username}
first_valid_uid = 1
auth_failure_delay = 0 secs
mailbox_idle_check_interval = 1 secs
${capabilities}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${join(this.dir, 'users')}
}
userdb {
  driver = static
  args = home=${home}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${this.port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service auth {
  unix_listener auth-userdb {
    mode = 0666
  }
}
`;
		writeFileSync(this.configPath, config);
	}

	private async startServer(): Promise<void> {
		const binary = dovecotBinary() as string;
		// Its own process group: stopping it takes its imap processes (open sessions) down with it, like a real outage.
		const child = spawn(binary, ['-F', '-c', this.configPath], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
		const killGroup = () => {
			if (child.pid) process.kill(-child.pid, 'SIGKILL');
		};
		process.once('exit', killGroup);
		child.once('exit', () => process.removeListener('exit', killGroup));
		let stderr = '';
		child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		this.child = child;
		const exited = new Promise<never>((_, reject) =>
			child.once('exit', (code) => reject(new Error(`Dovecot exited (${code}): ${stderr.trim()} ${this.log().slice(-2000)}`))),
		);
		exited.catch(() => undefined);
		await Promise.race([waitForGreeting(this.port, 15000), exited]);
	}

	/** Stops the server (every connection drops); the maildir stays. */
	async stop(): Promise<void> {
		const child = this.child;
		if (!child || child.exitCode !== null) return;
		this.child = null;
		const exited = new Promise((resolve) => child.once('exit', resolve));
		const signalGroup = (signal: NodeJS.Signals) => {
			try {
				process.kill(-(child.pid as number), signal);
			} catch {
				// The group is already gone.
			}
		};
		signalGroup('SIGTERM');
		const timer = setTimeout(() => signalGroup('SIGKILL'), 5000);
		await exited;
		clearTimeout(timer);
		// Sessions still open (imap processes outlive a TERM to the master for a moment) end now.
		signalGroup('SIGKILL');
		// The master's children (imap, auth) may linger a moment; the port must be free to start again.
		const deadline = Date.now() + 5000;
		while (Date.now() < deadline && (await this.portTaken())) await new Promise((r) => setTimeout(r, 50));
	}

	/** Starts it again after stop(): same port, config and maildir. */
	async resume(): Promise<void> {
		if (this.running) return;
		await this.startServer();
	}

	async restart(): Promise<void> {
		await this.stop();
		await this.startServer();
	}

	get running(): boolean {
		return this.child !== null && this.child.exitCode === null;
	}

	private async portTaken(): Promise<boolean> {
		return await new Promise((resolve) => {
			const server = createServer();
			server.once('error', () => resolve(true));
			server.listen(this.port, '127.0.0.1', () => server.close(() => resolve(false)));
		});
	}

	/** Runs doveadm against this instance (e.g. `['mailbox', 'update', ...]`). */
	async doveadm(args: string[]): Promise<string> {
		const { stdout } = await run('doveadm', ['-c', this.configPath, ...args]);
		return stdout;
	}

	/** Drops every IMAP session of the user (the server stays up). */
	async kick(): Promise<void> {
		// Exit code 68 only means nobody was logged in.
		await this.doveadm(['kick', this.user]).catch((error: { code?: number }) => {
			if (error.code !== 68) throw error;
			return '';
		});
	}

	/** Delivers like a local MTA: write to tmp/, rename into new/ (works while Dovecot is stopped). */
	deliver(raw: Buffer | string, mailbox = 'INBOX'): string {
		const root = this.maildir(mailbox);
		for (const dir of [join(this.dir, 'mail', this.user), root, join(root, 'tmp'), join(root, 'new'), join(root, 'cur')]) {
			if (existsSync(dir)) continue;
			mkdirSync(dir);
			if (this.mailOwner) chownSync(dir, this.mailOwner.uid, this.mailOwner.gid);
		}
		const name = `${Date.now()}.${randomBytes(6).toString('hex')}.hosted-inbox-test`;
		writeFileSync(join(root, 'tmp', name), raw);
		if (this.mailOwner) chownSync(join(root, 'tmp', name), this.mailOwner.uid, this.mailOwner.gid);
		renameSync(join(root, 'tmp', name), join(root, 'new', name));
		return name;
	}

	log(): string {
		return existsSync(join(this.dir, 'dovecot.log')) ? readFileSync(join(this.dir, 'dovecot.log'), 'utf8') : '';
	}

	async destroy(): Promise<void> {
		await this.stop();
		rmSync(this.dir, { recursive: true, force: true });
	}
}

/** A TCP proxy in front of Dovecot whose connections a test can cut at any moment (a dead link mid-fetch). */
export class CuttableProxy {
	private readonly sockets = new Set<Socket>();
	private readonly server: Server;
	/** Bytes sent from the server to clients so far (to cut "mid-fetch"). */
	bytesFromServer = 0;
	port = 0;
	private cutAt: { bytes: number; done: () => void } | null = null;

	private constructor(targetPort: number) {
		this.server = createServer((client) => {
			const upstream = tcpConnect(targetPort, '127.0.0.1');
			for (const socket of [client, upstream]) {
				this.sockets.add(socket);
				socket.on('close', () => this.sockets.delete(socket));
				// Either side failing ends both, as a broken link would.
				socket.on('error', () => {
					client.destroy();
					upstream.destroy();
				});
			}
			upstream.on('data', (chunk: Buffer) => {
				this.bytesFromServer += chunk.length;
				if (this.cutAt && this.bytesFromServer >= this.cutAt.bytes) {
					const { done } = this.cutAt;
					this.cutAt = null;
					this.cutAll();
					done();
				}
			});
			client.pipe(upstream);
			upstream.pipe(client);
			client.on('close', () => upstream.destroy());
			upstream.on('close', () => client.destroy());
		});
	}

	static async start(targetPort: number): Promise<CuttableProxy> {
		const proxy = new CuttableProxy(targetPort);
		await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
		const address = proxy.server.address();
		proxy.port = typeof address === 'object' && address ? address.port : 0;
		return proxy;
	}

	/** Cuts every connection once the server has sent this many more bytes (e.g. in the middle of a FETCH). */
	cutAfterServerBytes(bytes: number): Promise<void> {
		return new Promise((resolve) => (this.cutAt = { bytes: this.bytesFromServer + bytes, done: resolve }));
	}

	/** Destroys every open connection (both sides) without a goodbye; returns how many links were cut. */
	cutAll(): number {
		const links = Math.ceil(this.sockets.size / 2);
		for (const socket of this.sockets) socket.destroy();
		return links;
	}

	async close(): Promise<void> {
		this.cutAll();
		await new Promise((resolve) => this.server.close(resolve));
	}
}
