/** A line-level SMTP client for tests that need exact control (declared SIZE, idling, raw DATA, STARTTLS). */
import type { X509Certificate } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

export class RawSmtpClient {
	private buffer = '';
	private waiters: Array<() => void> = [];
	closed = false;
	/** How many times the server's bytes have arrived (each a read of the socket). */
	reads = 0;

	private constructor(private socket: Socket) {
		this.listen(socket);
	}

	private listen(socket: Socket): void {
		socket.setEncoding('utf8');
		socket.on('data', (data: string) => {
			this.buffer += data;
			this.reads++;
			this.wake();
		});
		socket.on('close', () => {
			this.closed = true;
			this.wake();
		});
		socket.on('error', () => undefined);
	}

	/** STARTTLS, then the session goes on encrypted; returns the certificate the server presented. */
	async startTls(): Promise<X509Certificate> {
		const reply = await this.command('STARTTLS');
		if (!reply.startsWith('220 ')) throw new Error(`STARTTLS refused: ${reply}`);
		this.socket.removeAllListeners('data');
		this.socket.removeAllListeners('close');
		const secure = connectTls({ socket: this.socket, rejectUnauthorized: false });
		await new Promise<void>((resolve, reject) => {
			secure.once('secureConnect', resolve);
			secure.once('error', reject);
		});
		this.socket = secure;
		this.listen(secure);
		return secure.getPeerX509Certificate()!;
	}

	private wake(): void {
		const waiters = this.waiters;
		this.waiters = [];
		waiters.forEach((w) => w());
	}

	/** localAddress picks the client's source address (127.0.0.2 is a second client on the loopback). */
	static async open(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawSmtpClient> {
		const socket = connect({ port, host, localAddress });
		await new Promise<void>((resolve, reject) => {
			socket.once('connect', resolve);
			socket.once('error', reject);
		});
		return new RawSmtpClient(socket);
	}

	/** The next complete (possibly multi-line) reply, e.g. "250-...\r\n250 ...". Rejects after timeoutMs. */
	async reply(timeoutMs = 10_000): Promise<string> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const match = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n/.exec(this.buffer);
			if (match) {
				this.buffer = this.buffer.slice(match[0].length);
				return match[0].trim();
			}
			if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`no SMTP reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer)}`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	async command(line: string): Promise<string> {
		this.socket.write(`${line}\r\n`);
		return await this.reply();
	}

	write(data: string | Buffer): Promise<void> {
		return new Promise((resolve) => (this.socket.write(data) ? resolve() : this.socket.once('drain', () => resolve())));
	}

	/** Waits for the server to close the connection. */
	async closedByServer(timeoutMs: number): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!this.closed) {
			if (Date.now() > deadline) throw new Error('server did not close the connection');
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, 50);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	close(): void {
		this.socket.destroy();
	}
}

/** A plain message of about `bytes` bytes (lines of 76 characters), with the given headers. */
export function messageOfSize(bytes: number, headers: Record<string, string> = {}): Buffer {
	const head = Object.entries({ From: 'sender@example.org', To: 'support@inbox.example.test', Subject: 'size test', ...headers })
		.map(([k, v]) => `${k}: ${v}\r\n`)
		.join('');
	const line = `${'x'.repeat(76)}\r\n`;
	const lines = Math.max(0, Math.ceil((bytes - head.length - 2) / line.length));
	return Buffer.from(`${head}\r\n${line.repeat(lines)}`);
}
