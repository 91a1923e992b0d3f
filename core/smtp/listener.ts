import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

import { domainOf } from '../address';
import type { Envelope } from '../intake/types';
import type { MessageBytes } from '../message-bytes';
import { replyLine, SMTP_REPLIES, type SmtpReply } from '../replies';
import { DEFAULT_BUDGET_MESSAGES, InFlightBudget, type BudgetShare } from './budget';
import { selfSignedCertificate, type TlsCertificate } from './certificate';
import { ClientGuard, DEFAULT_LISTENER_LIMITS, type ListenerLimits, type SmtpConnection } from './guard';
import { receiveMessage } from './receiving';

/** Settings of the listener on one host:port; every inbox sharing that port must agree on them. */
export interface ListenerSettings extends ListenerLimits {
	host: string;
	/** 0 picks a free port (tests); such a listener is never shared. */
	port: number;
	/** The operator's certificate for STARTTLS; null presents this install's self-signed certificate (and refuses AUTH). */
	tls: TlsCertificate | null;
	/** Where this install keeps its self-signed certificate, created once; null: one per process (tests, CLI). */
	selfSignedCertificateFile: string | null;
	/** Refuse MAIL FROM until the client has switched to TLS. */
	requireTls: boolean;
	/**
	 * When set, clients must authenticate (intake relays); when null, AUTH is not offered. AUTH is refused until
	 * the operator's certificate is set: behind a self-signed one, the password would go to whoever answers.
	 */
	auth: { username: string; password: string } | null;
	maxConnections: number;
	/**
	 * Bytes of messages in flight (written to disk as they arrive, then checked), across all connections (shared by
	 * every inbox on the port); a message past it is deferred with 451 4.3.1. null: room for 10 messages of the largest
	 * inbox limit.
	 */
	inFlightBudgetBytes: number | null;
	/** Idle time after which a silent client is dropped (421). */
	socketTimeoutMs: number;
	/** Host name in the greeting and EHLO (defaults to the machine's name). */
	serverName?: string;
}

/** What an active inbox hands the listener: its address, its size limit and what to do with a message. */
export interface HostedInboxBinding {
	address: string;
	maxMessageBytes: number;
	/** Runs the security checks and stores the message; the reply is what the sender gets. */
	receive(message: MessageBytes, envelope: Envelope): Promise<SmtpReply>;
	/** Local trouble of the listener itself (its in-flight budget spent), for the n8n log and the trigger's status. */
	noteTrouble?(message: string): void;
}

export interface ListenerInfo {
	host: string;
	port: number;
	/** True when STARTTLS presents this install's self-signed certificate (no operator certificate, no AUTH). */
	usesSelfSignedCertificate: boolean;
}

export interface AttachedInbox extends ListenerInfo {
	detach(): Promise<void>;
}

export const DEFAULT_LISTENER_SETTINGS: Omit<ListenerSettings, 'host' | 'port'> = {
	...DEFAULT_LISTENER_LIMITS,
	tls: null,
	selfSignedCertificateFile: null,
	requireTls: false,
	auth: null,
	maxConnections: 100,
	inFlightBudgetBytes: null,
	socketTimeoutMs: 60_000,
};

function smtpError(reply: SmtpReply): Error & { responseCode: number } {
	return Object.assign(new Error(replyLine(reply)), { responseCode: reply.code });
}

/** The client's address without the IPv4-mapped IPv6 prefix, as SPF and the intake log expect it. */
export function clientAddress(session: SMTPServerSession): string | null {
	const address = session.remoteAddress || null;
	return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Compares without leaking, through the time taken, how much of a guess was right (or how long the secret is). */
function sameSecret(given: string, expected: string): boolean {
	const digest = (value: string) => createHash('sha256').update(value).digest();
	return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The replies made in one turn of the event loop leave in one write, as Postfix's smtpd flushes its replies only once
 * the client's pipelined input is used up: a client pipelining MAIL, RCPT and DATA (nodemailer does) gets its three
 * replies in one segment, one system call on each side instead of three, in clear text or TLS. Held only until the
 * turn ends: a reply that waits for something (the 250 after the spool write) leaves as soon as it is made.
 */
function answerEachTurnInOneWrite(connection: SmtpConnection): void {
	let holding: Socket | TLSSocket | null = null;
	const release = () => {
		while (holding && holding.writableCorked > 0) holding.uncork();
		holding = null;
	};
	const send = connection.send.bind(connection);
	connection.send = (code, data, context) => {
		if (!holding && !connection._socket.destroyed) {
			holding = connection._socket;
			holding.cork();
			setImmediate(release);
		}
		send(code, data, context);
	};
	// STARTTLS hands the socket over to TLS right after its 220: the 220 must be out first, in clear text.
	const upgrade = connection.upgrade.bind(connection);
	connection.upgrade = (callback, secureCallback) => {
		release();
		upgrade(callback, secureCallback);
	};
}

/** smtp-server with a guard on every connection. */
class HostedSmtpServer extends SMTPServer {
	readonly guards = new WeakMap<SMTPServerSession, ClientGuard>();

	constructor(
		options: SMTPServerOptions,
		private readonly limits: ListenerLimits,
		/** AUTH is configured but only the self-signed certificate is there: refuse AUTH before any password is sent. */
		private readonly refuseAuth: boolean,
	) {
		super(options);
	}

	connect(socket: Socket | TLSSocket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
		super.connect(socket, socketOptions);
		// This socket's connection, not the last one in the set: one refused at once (the server full, 421, its socket
		// ending) is already gone, and the last one there is another client's. Should anything else go missing, it is
		// closed rather than left unguarded.
		const connection = [...this.connections].find((each) => each._socket === socket);
		if (!connection) {
			if (!socket.writableEnded) socket.destroy();
			return;
		}
		this.guards.set(connection.session, new ClientGuard(connection, this.limits));
		answerEachTurnInOneWrite(connection);
		if (this.refuseAuth) {
			connection.handler_AUTH = (_command, callback) => {
				connection.send(SMTP_REPLIES.authNeedsOwnCertificate.code, replyLine(SMTP_REPLIES.authNeedsOwnCertificate));
				callback();
			};
		}
	}

	connectionsFrom(address: string): number {
		return [...this.connections].filter((connection) => connection.remoteAddress === address).length;
	}
}

function settingsKey(settings: ListenerSettings): string {
	return JSON.stringify({ ...settings, host: undefined, port: undefined });
}

/** One smtp-server on one host:port, dispatching each recipient to the active inbox that owns the address. */
class SharedListener {
	readonly inboxes = new Map<string, HostedInboxBinding>();
	private server: HostedSmtpServer | undefined;
	private readonly budget: InFlightBudget;
	port = 0;

	constructor(readonly settings: ListenerSettings) {
		this.budget = new InFlightBudget(
			() => settings.inFlightBudgetBytes ?? DEFAULT_BUDGET_MESSAGES * this.largestMessageBytes(),
			// The budget is the whole port's: every inbox on it hears that it was spent.
			(message) => this.inboxes.forEach((inbox) => inbox.noteTrouble?.(message)),
		);
	}

	get usesSelfSignedCertificate(): boolean {
		return this.settings.tls === null;
	}

	private createServer(certificate: TlsCertificate): HostedSmtpServer {
		const { settings } = this;
		const options: SMTPServerOptions = {
			name: settings.serverName,
			hideENHANCEDSTATUSCODES: false,
			size: 0,
			cert: certificate.cert,
			key: certificate.key,
			maxClients: settings.maxConnections,
			socketTimeout: settings.socketTimeoutMs,
			closeTimeout: 5_000,
			// Reverse lookups would reach the network and slow every greeting; SPF uses the IP, not the PTR name.
			disableReverseLookup: true,
			logger: false,
			authOptional: settings.auth === null,
			disabledCommands: settings.auth === null ? ['AUTH'] : [],
			authMethods: ['PLAIN', 'LOGIN'],
			allowInsecureAuth: false,
			onConnect: (session, callback) => {
				if (this.server && this.server.connectionsFrom(session.remoteAddress) > settings.maxConnectionsPerClient) {
					return callback(smtpError(SMTP_REPLIES.tooManyConnections));
				}
				callback();
			},
			onAuth: (auth, _session, callback) => {
				const expected = settings.auth;
				// Both compared, always: a wrong user name takes as long as a wrong password.
				const valid = [sameSecret(auth.username ?? '', expected?.username ?? ''), sameSecret(auth.password ?? '', expected?.password ?? '')];
				if (expected && valid.every(Boolean)) return callback(null, { user: auth.username });
				// The tarpit: each wrong guess costs the client the error sleep.
				setTimeout(
					() => callback(smtpError(SMTP_REPLIES.authenticationInvalid)),
					settings.errorSleepMs,
				).unref();
			},
			onMailFrom: (address, session, callback) => {
				if (settings.requireTls && !session.secure) {
					return callback(smtpError(SMTP_REPLIES.tlsRequired));
				}
				// smtp-server has already answered a SIZE over the largest limit with 552.
				if (Number(address.args ? address.args.SIZE : 0) > this.budget.left) {
					this.budget.deferred();
					return callback(smtpError(SMTP_REPLIES.insufficientStorageForSize));
				}
				callback();
			},
			onRcptTo: (address, session, callback) => {
				const reply = this.checkRecipient(address.address, session);
				callback(reply ? smtpError(reply) : undefined);
			},
			onData: (stream, session, callback) => {
				const guard = this.server?.guards.get(session);
				guard?.messageStarted();
				// The message's bytes count against the budget until it is answered (or the client leaves: answered too).
				const share = this.budget.share();
				const answer = (reply: SmtpReply) => {
					share.release();
					callback(reply.code < 400 ? null : smtpError(reply), reply.code < 400 ? replyLine(reply) : undefined);
					guard?.messageAnswered();
				};
				this.receive(stream, session, share, () => guard?.messageReceived()).then(answer, () => answer(SMTP_REPLIES.temporaryFailure));
			},
		};
		const server = new HostedSmtpServer(options, settings, settings.auth !== null && settings.tls === null);
		// A broken client socket must never take the process (and n8n) down.
		server.on('error', () => {});
		return server;
	}

	private largestMessageBytes(): number {
		return Math.max(0, ...[...this.inboxes.values()].map((inbox) => inbox.maxMessageBytes));
	}

	/** The SIZE advertised is the largest limit of the inboxes on this port; each inbox enforces its own. */
	private refresh(): void {
		if (!this.server) return;
		(this.server.options as SMTPServerOptions).size = this.largestMessageBytes();
	}

	add(binding: HostedInboxBinding): void {
		this.inboxes.set(binding.address.toLowerCase(), binding);
		this.refresh();
	}

	remove(address: string): void {
		this.inboxes.delete(address.toLowerCase());
		this.refresh();
	}

	private checkRecipient(address: string, session: SMTPServerSession): SmtpReply | null {
		const inbox = this.inboxes.get(address.toLowerCase());
		if (!inbox) {
			const domain = domainOf(address);
			const hosted = [...this.inboxes.keys()].some((known) => known.endsWith(`@${domain}`));
			return hosted ? SMTP_REPLIES.noSuchInbox(address) : SMTP_REPLIES.relayingDenied(address);
		}
		// One hosted inbox per transaction, so each 250 speaks for exactly one inbox's stored copy; the sending MTA
		// delivers to the next inbox in another transaction (RFC 5321 4.5.3.1.10).
		const taken = session.envelope.rcptTo[0];
		if (taken && this.inboxes.get(taken.address.toLowerCase()) !== inbox) {
			return SMTP_REPLIES.oneInboxPerMessage(address);
		}
		const mailFrom = session.envelope.mailFrom;
		const declared = mailFrom && mailFrom.args ? Number(mailFrom.args.SIZE) : NaN;
		if (declared > inbox.maxMessageBytes) return tooBig(inbox);
		return null;
	}

	/**
	 * Keeps the message as it arrives (in memory while small, past that in a file: receiving.ts), within its inbox's
	 * limit and its share of the listener's budget, then only counts: the excess is never kept. A file is gone once
	 * the message is answered.
	 */
	private async receive(stream: SMTPServerDataStream, session: SMTPServerSession, share: BudgetShare, received: () => void): Promise<SmtpReply> {
		const rcpt = session.envelope.rcptTo.map((r) => r.address);
		// The inbox may have been deactivated since RCPT: the sender should try again later.
		const inbox = rcpt.length ? this.inboxes.get(rcpt[0].toLowerCase()) : undefined;
		const limit = inbox?.maxMessageBytes ?? 0;
		const { size, message, discard } = await receiveMessage(stream, (chunk, sizeSoFar) => {
			if (sizeSoFar <= limit && share.take(chunk.length)) return true;
			share.release();
			return false;
		}).finally(received);
		try {
			if (!inbox) return SMTP_REPLIES.inboxDeactivated;
			// Oversize mail is refused for good before any word on the budget.
			if (size > limit) return tooBig(inbox);
			if (!message) {
				this.budget.deferred();
				return SMTP_REPLIES.insufficientStorage;
			}
			return await inbox.receive(message, this.envelopeOf(session, rcpt));
		} finally {
			discard();
		}
	}

	private envelopeOf(session: SMTPServerSession, rcpt: string[]): Envelope {
		const mailFrom = session.envelope.mailFrom;
		return { clientIp: clientAddress(session), helo: session.hostNameAppearsAs || null, mailFrom: mailFrom ? mailFrom.address : null, rcpt };
	}

	async listen(): Promise<void> {
		const server = this.createServer(this.settings.tls ?? (await selfSignedCertificate(this.settings.selfSignedCertificateFile)));
		this.server = server;
		this.refresh();
		await new Promise<void>((resolve, reject) => {
			const onError = (error: NodeJS.ErrnoException) => {
				server.server.off('listening', onListening);
				reject(
					error.code === 'EADDRINUSE'
						? new Error(`Port ${this.settings.port} on ${this.settings.host} is already in use by another program`)
						: error.code === 'EACCES'
							? new Error(`Not allowed to listen on port ${this.settings.port} (ports below 1024 need privileges; see the README on exposing port 25)`)
							: error,
				);
			};
			const onListening = () => {
				server.server.off('error', onError);
				resolve();
			};
			server.server.once('error', onError);
			server.server.once('listening', onListening);
			server.listen(this.settings.port, this.settings.host);
		});
		const address = server.server.address();
		this.port = typeof address === 'object' && address ? address.port : this.settings.port;
	}

	async close(): Promise<void> {
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}
}

function tooBig(inbox: HostedInboxBinding): SmtpReply {
	return SMTP_REPLIES.tooLargeFor(inbox.address, inbox.maxMessageBytes);
}

/** Process-wide: one listener per host:port, shared by every active inbox on it. */
const listeners = new Map<string, Promise<SharedListener>>();

function findOwner(address: string): Promise<SharedListener | undefined> {
	return Promise.all(listeners.values()).then((all) => all.find((listener) => listener.inboxes.has(address.toLowerCase())));
}

/**
 * Makes the inbox's hosted address receive mail on host:port, starting the listener if this is the first inbox
 * there. Two inboxes claiming one address, or different listener settings on one port, are activation errors.
 */
export async function attachHostedInbox(settings: ListenerSettings, binding: HostedInboxBinding): Promise<AttachedInbox> {
	const address = binding.address.toLowerCase();
	if (settings.inFlightBudgetBytes !== null && settings.inFlightBudgetBytes < binding.maxMessageBytes) {
		throw new Error(
			`The listener's in-flight budget (${settings.inFlightBudgetBytes} bytes) is smaller than the maximum message size of ${address} (${binding.maxMessageBytes} bytes): such a message could never be received`,
		);
	}
	if (await findOwner(address)) {
		throw new Error(`The hosted address ${address} is already used by another active Hosted Inbox Trigger`);
	}
	const key = `${settings.host}:${settings.port}`;
	let pending = settings.port === 0 ? undefined : listeners.get(key);
	if (!pending) {
		const listener = new SharedListener(settings);
		pending = listener.listen().then(() => listener);
		const registryKey = settings.port === 0 ? `${key}#${Math.random()}` : key;
		listeners.set(registryKey, pending);
		pending.catch(() => listeners.delete(registryKey));
		const started = await pending;
		return attachTo(started, registryKey, binding);
	}
	const listener = await pending;
	if (settingsKey(listener.settings) !== settingsKey(settings)) {
		throw new Error(
			`Port ${settings.port} on ${settings.host} is already used by the hosted inbox ${[...listener.inboxes.keys()].join(', ')} with other listener settings (TLS, AUTH or limits): use the same settings or another port`,
		);
	}
	if (listener.inboxes.has(address)) {
		throw new Error(`The hosted address ${address} is already used by another active Hosted Inbox Trigger`);
	}
	return attachTo(listener, key, binding);
}

function attachTo(listener: SharedListener, registryKey: string, binding: HostedInboxBinding): AttachedInbox {
	listener.add(binding);
	let detached = false;
	return {
		host: listener.settings.host,
		port: listener.port,
		usesSelfSignedCertificate: listener.usesSelfSignedCertificate,
		detach: async () => {
			if (detached) return;
			detached = true;
			listener.remove(binding.address);
			if (listener.inboxes.size === 0) {
				listeners.delete(registryKey);
				await listener.close();
			}
		},
	};
}
