/** Shared by the IMAP suites: test messages, a second IMAP client that looks at the mailbox, bounded waits. */
import { ImapFlow } from 'imapflow';

import type { Dovecot } from '../../support/dovecot';

/** A small plain message with a unique Message-ID (padded to `size` bytes when asked). */
export function testMessage(n: number, options: { tag?: string; size?: number; headers?: string } = {}): { raw: Buffer; messageId: string } {
	const tag = options.tag ?? 'm';
	const messageId = `<${tag}-${n}@customer.example>`;
	const head = [
		`From: Customer ${n} <customer${n}@customer.example>`,
		'To: support@example.test',
		`Subject: Question ${tag} ${n}`,
		`Message-ID: ${messageId}`,
		'Date: Tue, 24 Nov 2026 10:00:00 +0000',
		'MIME-Version: 1.0',
		'Content-Type: text/plain; charset=utf-8',
		...(options.headers ? [options.headers] : []),
	].join('\r\n');
	let body = `Hello, this is question ${n}.\r\n`;
	if (options.size && options.size > head.length + body.length) {
		const line = `${'x'.repeat(76)}\r\n`;
		body += line.repeat(Math.ceil((options.size - head.length - body.length) / line.length));
	}
	return { raw: Buffer.from(`${head}\r\n\r\n${body}`), messageId };
}

/** A second IMAP client, as a person's mail program: looks at flags and folders without touching them. */
export class MailboxObserver {
	private client: ImapFlow | null = null;
	constructor(private readonly dovecot: Dovecot) {}

	private async open(mailbox: string): Promise<ImapFlow> {
		if (!this.client || !this.client.usable) {
			this.client?.close();
			const c = this.dovecot.credentials;
			const client = new ImapFlow({ host: c.host, port: c.port, secure: false, auth: { user: c.user, pass: c.password }, logger: false, disableAutoIdle: true });
			client.on('error', () => undefined);
			await client.connect();
			this.client = client;
		}
		if (this.client.mailbox === false || (this.client.mailbox && this.client.mailbox.path !== mailbox)) await this.client.mailboxOpen(mailbox);
		return this.client;
	}

	/** Message-ID -> flags of every message in the mailbox. */
	async flagsByMessageId(mailbox = 'INBOX'): Promise<Map<string, Set<string>>> {
		const client = await this.open(mailbox);
		const result = new Map<string, Set<string>>();
		// A STATUS/NOOP makes the server report mail that arrived since the last look.
		await client.noop();
		if (!client.mailbox || !client.mailbox.exists) return result;
		for (const message of await client.fetchAll('1:*', { envelope: true, flags: true })) {
			result.set(message.envelope?.messageId ?? `uid:${message.uid}`, message.flags ?? new Set());
		}
		return result;
	}

	async append(raw: Buffer, mailbox = 'INBOX', flags: string[] = []): Promise<void> {
		const client = await this.open(mailbox);
		await client.append(mailbox, raw, flags);
	}

	async close(): Promise<void> {
		await this.client?.logout().catch(() => undefined);
		this.client = null;
	}
}

/** Polls `check` until it returns true (bounded); the error names what was last seen. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, describe?: () => string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (await check()) return;
		if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${describe ? `: ${describe()}` : ''}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}
