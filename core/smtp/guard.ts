import type { SMTPServer } from 'smtp-server';

import { replyLine, SMTP_REPLIES, type SmtpReply } from '../replies';

/** One client connection of smtp-server. */
export type SmtpConnection = SMTPServer['connections'] extends Set<infer C> ? C : never;

/**
 * What one client may do before the listener drops it, after Postfix's smtpd limits. Every sender is a possible
 * adversary: none may hold the port, drip a message forever or guess the AUTH password at leisure.
 */
export interface ListenerLimits {
	/** Connections at once from one client IP (smtpd_client_connection_count_limit); more are answered 421. */
	maxConnectionsPerClient: number;
	/** NOOP, RSET, VRFY, EXPN, HELP, ETRN, HELO and EHLO per connection (smtpd_junk_command_limit). */
	maxJunkCommands: number;
	/** Past this many error replies, each command waits errorSleepMs first (smtpd_soft_error_limit). */
	softErrorLimit: number;
	/** At this many error replies without an accepted message, the connection is closed (smtpd_hard_error_limit). */
	hardErrorLimit: number;
	/** The tarpit: the wait before each command past the soft limit and before each failed AUTH's answer. */
	errorSleepMs: number;
	/** Refused recipients (unknown address, relaying) without an accepted message before the connection is closed. */
	maxRecipientErrors: number;
	/** Failed AUTH attempts before the connection is closed. */
	maxAuthFailures: number;
	/** The whole message must arrive within this time after DATA; a dripped message is cut (421 4.4.2). */
	dataTimeoutMs: number;
	/** A connection lasts at most this long, however busy (421 4.4.2). */
	sessionTimeoutMs: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
	maxConnectionsPerClient: 20,
	maxJunkCommands: 100,
	softErrorLimit: 10,
	hardErrorLimit: 20,
	errorSleepMs: 1_000,
	maxRecipientErrors: 10,
	maxAuthFailures: 3,
	dataTimeoutMs: 10 * 60_000,
	sessionTimeoutMs: 30 * 60_000,
};

const JUNK_COMMANDS = new Set(['NOOP', 'RSET', 'VRFY', 'EXPN', 'HELP', 'ETRN', 'HELO', 'EHLO']);
const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

/**
 * Watches one connection: counts junk commands, error replies, refused recipients and failed AUTHs, delays the
 * commands of a client past the soft error limit, and cuts the connection at a limit or a deadline. A message that
 * has arrived in full is never cut while the inbox decides on it: the cut waits for the answer.
 */
export class ClientGuard {
	private junk = 0;
	private errors = 0;
	private recipientErrors = 0;
	private authFailures = 0;
	private command = '';
	private deciding = false;
	private dueCut: SmtpReply | null = null;
	private dataTimer: NodeJS.Timeout | undefined;
	private readonly sessionTimer: NodeJS.Timeout;
	private readonly send: SmtpConnection['send'];

	constructor(
		connection: SmtpConnection,
		private readonly limits: ListenerLimits,
	) {
		const send = connection.send.bind(connection);
		// smtp-server derives the enhanced status code from the reply code alone (550 is always 5.1.1); our replies name
		// the exact cause (5.7.1 for a DMARC rejection, 5.3.4 for size), so a reply that carries its own code is sent as is.
		this.send = (code, data, context) => send(code, data, typeof data === 'string' && ENHANCED_CODE.test(data) ? false : context);
		connection.send = (code, data, context) => {
			this.send(code, data, context);
			this.count(code);
		};
		const onCommand = connection._onCommand.bind(connection);
		connection._onCommand = (line, callback) => {
			this.command = connection._nextHandler ? 'AUTH' : line.toString('latin1').split(' ', 1)[0].toUpperCase();
			if (JUNK_COMMANDS.has(this.command) && ++this.junk > limits.maxJunkCommands) {
				return this.reply(SMTP_REPLIES.tooManyJunkCommands);
			}
			if (this.errors < limits.softErrorLimit) return onCommand(line, callback);
			setTimeout(() => onCommand(line, callback), limits.errorSleepMs).unref();
		};
		this.sessionTimer = setTimeout(() => this.cut(SMTP_REPLIES.sessionTooLong), limits.sessionTimeoutMs).unref();
		connection._socket.once('close', () => {
			clearTimeout(this.sessionTimer);
			clearTimeout(this.dataTimer);
		});
	}

	private reply(smtpReply: SmtpReply): void {
		this.send(smtpReply.code, replyLine(smtpReply));
	}

	private count(code: number): void {
		if (code === 250 && this.command === 'DATA') {
			// Postfix counts errors "without delivering mail": an accepted message starts the count again.
			this.errors = this.recipientErrors = 0;
			return;
		}
		if (code < 400 || code === 421) return;
		this.errors++;
		if (this.command === 'RCPT' && code >= 500) this.recipientErrors++;
		if (this.command === 'AUTH' && code === 535) this.authFailures++;
		if (this.errors >= this.limits.hardErrorLimit) {
			this.reply(SMTP_REPLIES.tooManyErrors);
		} else if (this.recipientErrors >= this.limits.maxRecipientErrors) {
			this.reply(SMTP_REPLIES.tooManyRefusedRecipients);
		} else if (this.authFailures >= this.limits.maxAuthFailures) {
			this.reply(SMTP_REPLIES.tooManyAuthFailures);
		}
	}

	/** Closes the connection (421 4.4.2), or right after the answer if the inbox is deciding on a message. */
	private cut(closing: SmtpReply): void {
		if (this.deciding) this.dueCut = closing;
		else this.reply(closing);
	}

	/** DATA began: the message must be in before the DATA deadline. */
	messageStarted(): void {
		this.dataTimer = setTimeout(() => this.cut(SMTP_REPLIES.dataTooSlow), this.limits.dataTimeoutMs).unref();
	}

	/** The message is in (or the client left): the inbox decides, and nothing cuts the connection meanwhile. */
	messageReceived(): void {
		clearTimeout(this.dataTimer);
		this.deciding = true;
	}

	/** The answer on the message is sent: a deadline that passed meanwhile cuts now. */
	messageAnswered(): void {
		this.deciding = false;
		if (this.dueCut) this.cut(this.dueCut);
	}
}
