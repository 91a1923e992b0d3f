/**
 * A stand-in mail provider for forwarding tests: a real smtp-server on loopback that accepts mail for the team's
 * public address and, while its forwarding rule is on, forwards it as Gmail does (Received and X-Forwarded-For
 * headers, envelope sender rewritten to `local+caf_=<hosted address>@domain`) to the hosted inbox's SMTP port.
 */
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';

export interface ProviderOptions {
	publicAddress: string;
	/** Where the forwarding rule sends mail (the hosted address) and the trigger's SMTP port. */
	forwardTo: string;
	forwardPort: number;
}

export interface Delivery {
	mailFrom: string;
	rcpt: string[];
	raw: Buffer;
	/** The reply of the hosted inbox, or why forwarding failed; null while the rule is off. */
	forwarded: string | null;
}

export class TestProvider {
	/** The forwarding rule; off, mail stays in the mailbox as when the rule was never saved. */
	forwarding = true;
	readonly received: Delivery[] = [];
	private readonly pending = new Set<Promise<void>>();
	private server: SMTPServer | undefined;
	port = 0;

	constructor(private readonly options: ProviderOptions) {}

	async start(): Promise<void> {
		this.server = new SMTPServer({
			name: 'mx.company.test',
			authOptional: true,
			disabledCommands: ['STARTTLS'],
			logger: false,
			onRcptTo: (address, _session, callback) =>
				address.address.toLowerCase() === this.options.publicAddress ? callback() : callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 })),
			onData: (stream, session, callback) => {
				const chunks: Buffer[] = [];
				stream.on('data', (chunk: Buffer) => chunks.push(chunk));
				stream.on('end', () => {
					const delivery: Delivery = {
						mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
						rcpt: session.envelope.rcptTo.map((r) => r.address),
						raw: Buffer.concat(chunks),
						forwarded: null,
					};
					this.received.push(delivery);
					// As a provider does: accept first, forward afterwards.
					if (this.forwarding) this.track(this.forward(delivery, session.remoteAddress));
					callback();
				});
			},
		});
		await new Promise<void>((resolve, reject) => {
			this.server!.once('error', reject);
			this.server!.listen(0, '127.0.0.1', () => resolve());
		});
		this.port = (this.server.server.address() as { port: number }).port;
	}

	private track(promise: Promise<void>): void {
		this.pending.add(promise);
		void promise.finally(() => this.pending.delete(promise));
	}

	/** Gmail's rewrite: trace headers on top, the envelope sender names the forwarding target after `+caf_=`. */
	private async forward(delivery: Delivery, clientIp: string): Promise<void> {
		const { publicAddress, forwardTo, forwardPort } = this.options;
		const [local, domain] = publicAddress.split('@');
		const date = new Date().toUTCString();
		const trace = [
			`X-Forwarded-To: ${forwardTo}`,
			`X-Forwarded-For: ${publicAddress} ${forwardTo}`,
			`Delivered-To: ${publicAddress}`,
			`Received: by mx.company.test with SMTP id fwd${this.received.length}; ${date}`,
			`Received: from client.company.test ([${clientIp}]) by mx.company.test with ESMTP id in${this.received.length} for <${publicAddress}>; ${date}`,
			'',
		].join('\r\n');
		const transport = createTransport({ host: '127.0.0.1', port: forwardPort, secure: false, ignoreTLS: true, name: 'mx.company.test' });
		try {
			const info = await transport.sendMail({
				envelope: { from: `${local}+caf_=${forwardTo.replace('@', '=')}@${domain}`, to: [forwardTo] },
				raw: Buffer.concat([Buffer.from(trace), delivery.raw]),
			});
			delivery.forwarded = String(info.response);
		} catch (error) {
			delivery.forwarded = `failed: ${(error as Error).message}`;
		} finally {
			transport.close();
		}
	}

	/** Waits for forwards in flight (bounded by the SMTP client's own timeouts). */
	async settled(): Promise<void> {
		while (this.pending.size) await Promise.allSettled([...this.pending]);
	}

	async stop(): Promise<void> {
		await this.settled();
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}
}
