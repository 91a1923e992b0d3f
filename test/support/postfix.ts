/**
 * A throwaway Postfix for the suites that relay through it: its own config and queue directory in a temp dir
 * (`postfix -c DIR`, next to the packaged instance, which stays stopped), smtpd on a free loopback port, the test's
 * domain relayed through a pipe(8) transport whose argv the test gives. Needs root, as Postfix's own start does.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { gate } from './gates';
import { freePort } from './ports';

const run = promisify(execFile);

function missingPostfix(): string | null {
	if (!existsSync('/usr/sbin/postfix') || !existsSync('/usr/sbin/postqueue')) return 'Postfix is not installed (run scripts/services.sh)';
	if (!existsSync('/usr/bin/swaks')) return 'swaks is not installed (run scripts/services.sh)';
	if (userInfo().uid !== 0) return 'starting a Postfix instance needs root';
	return null;
}

/** The Postfix suites, gated as gates.ts says. */
export const describeWithPostfix = gate('Postfix', missingPostfix()).describe;

/** The user pipe(8) runs the command as (never root), and a Node it can run: jest's own unless it cannot reach it. */
export const PIPE_USER = 'nobody';
export function nodeForPipeUser(): string {
	const own = spawnSync('runuser', ['-u', PIPE_USER, '--', process.execPath, '--version'], { encoding: 'utf8', timeout: 30_000 });
	if (own.status === 0) return process.execPath;
	const found = spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin' } }).stdout.trim();
	if (!found) throw new Error(`no Node that user ${PIPE_USER} can run (${process.execPath} is out of its reach)`);
	return found;
}

export interface PostfixOptions {
	/** Mail for this domain goes to the pipe. */
	domain: string;
	/** The pipe command's argv, Postfix macros (${sender}, ${recipient}...) left for Postfix to expand. */
	argv: string[];
	/** Postfix's message_size_limit, when not its default (10,240,000 bytes). */
	messageSizeLimit?: number;
}

export class Postfix {
	private constructor(
		readonly dir: string,
		readonly port: number,
	) {}

	get configDir(): string {
		return join(this.dir, 'conf');
	}

	static async start(options: PostfixOptions): Promise<Postfix> {
		const missing = missingPostfix();
		if (missing) throw new Error(missing);
		const dir = mkdtempSync(join(tmpdir(), 'hosted-inbox-postfix-'));
		// The pipe user reads files the test leaves here (a token file).
		chmodSync(dir, 0o755);
		const postfix = new Postfix(dir, await freePort());
		postfix.writeConfig(options);
		await postfix.postfix('start');
		await waitForGreeting(postfix.port, 30_000, () => postfix.log());
		return postfix;
	}

	private writeConfig({ domain, argv, messageSizeLimit }: PostfixOptions): void {
		const { dir } = this;
		for (const sub of ['conf', 'queue', 'data']) mkdirSync(join(dir, sub));
		const owner = spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).stdout.trim();
		chownSync(join(dir, 'data'), Number(owner), -1);
		const main = {
			compatibility_level: '3.6',
			queue_directory: join(dir, 'queue'),
			data_directory: join(dir, 'data'),
			maillog_file: join(dir, 'postfix.log'),
			maillog_file_prefixes: dir,
			myhostname: 'mx.hosted-inbox.test',
			mydomain: 'hosted-inbox.test',
			inet_interfaces: 'loopback-only',
			inet_protocols: 'ipv4',
			mynetworks: '127.0.0.0/8',
			// The domain is relayed to the pipe, as contrib/README.md sets it up (not a local domain: no local users,
			// no aliases); every address of it is the hosted inbox's to judge.
			mydestination: 'localhost',
			relay_domains: domain,
			alias_maps: '',
			alias_database: '',
			transport_maps: `inline:{ ${domain}=hostedinbox: }`,
			// One recipient per delivery: the exit code is the answer for that recipient alone.
			hostedinbox_destination_recipient_limit: '1',
			default_transport: 'error:this test sends no mail out',
			relay_transport: 'error:this test sends no mail out',
			smtpd_banner: '$myhostname ESMTP',
			biff: 'no',
			...(messageSizeLimit ? { message_size_limit: String(messageSizeLimit) } : {}),
		};
		writeFileSync(join(dir, 'conf', 'main.cf'), Object.entries(main).map(([key, value]) => `${key} = ${value}\n`).join(''));
		// Every service unchrooted (column 5 n): the temp queue directory holds nothing a chroot would need.
		const services = [
			`127.0.0.1:${this.port} inet n - n - - smtpd`,
			'pickup unix n - n 60 1 pickup',
			'cleanup unix n - n - 0 cleanup',
			'qmgr unix n - n 300 1 qmgr',
			'rewrite unix - - n - - trivial-rewrite',
			'bounce unix - - n - 0 bounce',
			'defer unix - - n - 0 bounce',
			'trace unix - - n - 0 bounce',
			'verify unix - - n - 1 verify',
			'flush unix n - n 1000? 0 flush',
			'proxymap unix - - n - - proxymap',
			'showq unix n - n - - showq',
			'error unix - - n - - error',
			'retry unix - - n - - error',
			'discard unix - - n - - discard',
			'anvil unix - - n - 1 anvil',
			'scache unix - - n - 1 scache',
			'postlog unix-dgram n - n - 1 postlogd',
			// The pipe transport as contrib/README.md sets it up: CRLF line ends (the message as SMTP carried it).
			`hostedinbox unix - n n - - pipe\n  flags=Rq user=${PIPE_USER} null_sender= eol=\\r\\n argv=${argv.join(' ')}`,
		];
		writeFileSync(join(dir, 'conf', 'master.cf'), `${services.join('\n')}\n`);
	}

	private async postfix(command: string): Promise<void> {
		try {
			await run('/usr/sbin/postfix', ['-c', this.configDir, command], { timeout: 60_000 });
		} catch (error) {
			throw new Error(`postfix ${command} failed: ${(error as Error).message}\n${this.log()}`);
		}
	}

	/** What Postfix logged (maillog_file). */
	log(): string {
		const path = join(this.dir, 'postfix.log');
		return existsSync(path) ? readFileSync(path, 'utf8') : '';
	}

	/** `mailq` of this instance. */
	async queue(): Promise<string> {
		return (await run('/usr/sbin/postqueue', ['-c', this.configDir, '-p'], { timeout: 30_000 })).stdout;
	}

	/** `postqueue -f`: try every queued message now. */
	async flush(): Promise<void> {
		await run('/usr/sbin/postqueue', ['-c', this.configDir, '-f'], { timeout: 30_000 });
	}

	/** Sends the message with swaks; resolves to Postfix's queue id. */
	async swaks(options: { from: string; to: string; helo: string; message: Buffer }): Promise<string> {
		const data = join(this.dir, `message-${randomBytes(4).toString('hex')}.eml`);
		// swaks ends DATA with CRLF . CRLF after the file: the file leaves out the message's last CRLF.
		writeFileSync(data, options.message.subarray(0, options.message.subarray(-2).toString() === '\r\n' ? -2 : undefined));
		// --suppress-data: the transcript without the message (a big one would overflow what execFile collects).
		const { stdout } = await run('/usr/bin/swaks', ['--server', `127.0.0.1:${this.port}`, '--from', options.from, '--to', options.to, '--helo', options.helo, '--data', data, '--suppress-data'], {
			timeout: 60_000,
		});
		const queued = /<- {2}250 2\.0\.0 Ok: queued as ([0-9A-F]+)/.exec(stdout);
		if (!queued) throw new Error(`Postfix did not queue the message:\n${stdout}`);
		return queued[1];
	}

	async stop(): Promise<void> {
		const pidFile = join(this.dir, 'queue', 'pid', 'master.pid');
		const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
		await this.postfix('stop').catch(() => undefined);
		// `postfix stop` returns at once; the master takes its children down before it goes.
		const deadline = Date.now() + 20_000;
		while (Number.isInteger(pid) && alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
		if (Number.isInteger(pid) && alive(pid)) process.kill(pid, 'SIGKILL');
		rmSync(this.dir, { recursive: true, force: true });
	}
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
	} catch {
		return false;
	}
}

/** Until smtpd sends its 220 greeting on the port. */
async function waitForGreeting(port: number, timeoutMs: number, log: () => string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const greeted = await new Promise<boolean>((resolve) => {
			const socket = connect(port, '127.0.0.1');
			socket.setTimeout(5000, () => (socket.destroy(), resolve(false)));
			socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('220'))));
			socket.once('error', () => resolve(false));
		});
		if (greeted) return;
		if (Date.now() > deadline) throw new Error(`Postfix did not greet on 127.0.0.1:${port} within ${timeoutMs} ms\n${log()}`);
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}
