/**
 * A real SMTP server on loopback (smtp-server) that keeps what it receives, for tests that send team email
 * through a real client and parse what arrived.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

import type { SmtpSettings } from '../../../core/outbound/transport';

export interface ReceivedMail {
	mailFrom: string;
	rcptTo: string[];
	raw: Buffer;
}

export interface SmtpSink {
	received: ReceivedMail[];
	/** What n8n's `smtp` credential would hold to reach this server. */
	settings: SmtpSettings;
	close(): Promise<void>;
}

export async function startSmtpSink(auth = { user: 'team', password: 'secret' }): Promise<SmtpSink> {
	const received: ReceivedMail[] = [];
	const server = new SMTPServer({
		secure: false,
		disabledCommands: ['STARTTLS'],
		allowInsecureAuth: true,
		logger: false,
		onAuth(login, _session, callback) {
			if (login.username === auth.user && login.password === auth.password) return callback(null, { user: login.username });
			return callback(new Error('Invalid username or password'));
		},
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (chunk: Buffer) => chunks.push(chunk));
			stream.on('end', () => {
				received.push({
					mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
					rcptTo: session.envelope.rcptTo.map((r) => r.address),
					raw: Buffer.concat(chunks),
				});
				callback();
			});
		},
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const port = (server.server.address() as AddressInfo).port;
	return {
		received,
		settings: { host: '127.0.0.1', port, secure: false, disableStartTls: true, user: auth.user, password: auth.password },
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
