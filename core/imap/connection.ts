/**
 * The IMAP connection of the poller: an imapflow client for n8n's IMAP credential fields, the set-up of a session on
 * one mailbox, and reconnecting. imapflow does not reconnect: every lost connection gets a new client, with
 * exponential backoff and jitter, forever; each outage is reported once.
 */
import { ImapFlow, type ImapFlowOptions } from 'imapflow';

import { retryDelayMs, type Backoff } from '../workflow-delivery/retry';

export interface MailboxConnection {
	host: string;
	port: number;
	/** TLS from the start (993); otherwise STARTTLS when the server offers it. */
	secure: boolean;
	user: string;
	password: string;
	allowUnauthorizedCerts?: boolean;
}

/** A configuration problem a person must fix (wrong password, missing mailbox): fails the first start. */
export class MailboxConfigError extends Error {
	constructor(
		message: string,
		readonly cause?: unknown,
	) {
		super(message);
		this.name = 'MailboxConfigError';
	}
}

class ConnectionLost extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConnectionLost';
	}
}

/** An imapflow client for these settings (n8n's IMAP credential fields), quiet, its errors handled. */
export function createImapClient(connection: MailboxConnection, extra: Partial<ImapFlowOptions> = {}): ImapFlow {
	const client = new ImapFlow({
		host: connection.host,
		port: connection.port,
		secure: connection.secure,
		auth: { user: connection.user, pass: connection.password },
		tls: { rejectUnauthorized: !connection.allowUnauthorizedCerts },
		logger: false,
		...extra,
	});
	// Without a listener an 'error' event would crash the process; the 'close' that follows tells the owner.
	client.on('error', () => undefined);
	return client;
}

export function errorOf(value: unknown): Error {
	return value instanceof Error ? value : new Error(String(value));
}

function isAuthFailure(error: unknown): boolean {
	const e = error as { authenticationFailed?: boolean; serverResponseCode?: string };
	return e?.authenticationFailed === true || e?.serverResponseCode === 'AUTHENTICATIONFAILED';
}

export interface SessionSettings {
	connection: MailboxConnection;
	mailbox: string;
	/** How often IDLE is broken and restarted. */
	maxIdleTimeMs: number;
	/** Poll interval when the server has no IDLE. */
	pollIntervalMs: number;
	/** A folder the session needs (the after-processing move's), created when missing. */
	folder?: string;
	/** Socket and greeting timeouts of the IMAP client. */
	timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
}

/** One connection, logged in, with the mailbox open (read-write). */
export class MailboxSession {
	readonly client: ImapFlow;
	uidValidity = '';
	uidNext: number | undefined;
	/** Whether the server has IDLE (else the session polls). */
	idle = false;
	closed = false;
	private closeError: Error | null = null;

	constructor(
		private readonly settings: SessionSettings,
		on: { closed(): void; newMail(): void },
	) {
		const { timeouts } = settings;
		this.client = createImapClient(settings.connection, {
			maxIdleTime: settings.maxIdleTimeMs,
			// Back to IDLE quickly after our own commands: mail arriving in between is then seen at once.
			autoIdleDelay: 250,
			...(timeouts?.connectionMs ? { connectionTimeout: timeouts.connectionMs } : {}),
			...(timeouts?.greetingMs ? { greetingTimeout: timeouts.greetingMs } : {}),
			...(timeouts?.socketMs ? { socketTimeout: timeouts.socketMs } : {}),
		});
		this.client.on('close', () => {
			this.closed = true;
			on.closed();
		});
		this.client.on('error', (error: Error) => (this.closeError = error));
		this.client.on('exists', () => on.newMail());
	}

	/** Logs in and opens the mailbox; a wrong password or a missing mailbox is a MailboxConfigError. */
	async open(): Promise<void> {
		const { client, settings } = this;
		const { connection, mailbox } = settings;
		const loginFailure = await client.connect().then(
			() => null,
			(error: unknown) => error,
		);
		if (loginFailure) {
			throw isAuthFailure(loginFailure) ? new MailboxConfigError(`IMAP login failed for ${connection.user}: ${errorOf(loginFailure).message}`, loginFailure) : loginFailure;
		}
		const opened = await client.mailboxOpen(mailbox).catch((error: { serverResponseCode?: string; mailboxMissing?: boolean }) => {
			if (!error.mailboxMissing && error.serverResponseCode !== 'NONEXISTENT') return Promise.reject(error);
			return Promise.reject(new MailboxConfigError(`The mailbox "${mailbox}" does not exist on ${connection.host}`, error));
		});
		this.uidValidity = String(opened.uidValidity);
		this.uidNext = opened.uidNext;
		this.idle = client.capabilities.has('IDLE');
		// Without IDLE, imapflow's fallback polls (NOOP) at maxIdleTime: make that the poll interval.
		if (!this.idle) client.maxIdleTime = settings.pollIntervalMs;
		if (settings.folder && !(await client.list()).some((entry) => entry.path === settings.folder)) await client.mailboxCreate(settings.folder);
	}

	/** Throws the outage when the connection is gone. */
	assertAlive(): void {
		if (this.closed) throw this.lostError();
	}

	/** The outage, named: a command cut off by the lost link only says "Connection not available". */
	lostError(): Error {
		const { host, port } = this.settings.connection;
		const reason = this.closeError ? `: ${this.closeError.message}` : '';
		return new ConnectionLost(`The IMAP connection to ${host}:${port} was lost${reason}`);
	}

	/** Also when the mailbox's numbering changed under the open session: the next session resyncs. */
	assertSameNumbering(): void {
		const { mailbox } = this.client;
		if (mailbox && String(mailbox.uidValidity) !== this.uidValidity) throw new ConnectionLost('UIDVALIDITY changed while connected');
	}

	async end(): Promise<void> {
		if (!this.closed) await this.client.logout().catch(() => undefined);
	}

	close(): void {
		this.client.removeAllListeners('exists');
		this.client.close();
	}
}

export interface ReconnectOptions {
	newSession(): MailboxSession;
	/** Runs a session until it ends (stop) or fails; calls `ready` once the mailbox is open and in sync. */
	run(session: MailboxSession, ready: () => void): Promise<void>;
	backoff: Backoff;
	stopped(): boolean;
	/** The backoff's wait (only stop cuts it short). */
	pause(ms: number): Promise<void>;
	onOutage(error: Error, since: Date): void;
	onReconnected(downForMs: number): void;
	/**
	 * Called once: when the first session is ready, after its first failure for a passing reason (reconnecting goes
	 * on), or with the MailboxConfigError of the first attempt (which ends it all).
	 */
	settleFirst(error?: Error): void;
}

/** Sessions, one after the other, until stopped: a lost one is replaced after the backoff. */
export async function keepConnected(o: ReconnectOptions): Promise<void> {
	let first = true;
	let failures = 0;
	let outageSince: Date | null = null;
	while (!o.stopped()) {
		const session = o.newSession();
		let ready = false;
		try {
			await o.run(session, () => {
				ready = true;
				failures = 0;
				if (outageSince) o.onReconnected(Date.now() - outageSince.getTime());
				outageSince = null;
				if (first) o.settleFirst();
				first = false;
			});
		} catch (caught) {
			const error = errorOf(caught);
			if (first && !ready && error instanceof MailboxConfigError) {
				o.settleFirst(error);
				return;
			}
			if (o.stopped()) break;
			failures++;
			if (!outageSince) {
				outageSince = new Date();
				o.onOutage(error, outageSince);
			}
			if (first) o.settleFirst();
			first = false;
			await o.pause(retryDelayMs(failures, o.backoff));
		} finally {
			session.close();
		}
	}
	if (first) o.settleFirst();
}
