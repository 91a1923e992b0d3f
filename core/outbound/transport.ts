import { createTransport } from 'nodemailer';

/** The SMTP server the team's mail goes out through (the nodes read it from n8n's `smtp` credential). */
export interface SmtpSettings {
	host: string;
	port: number;
	secure: boolean;
	user?: string;
	password?: string;
	/** Only with secure=false: send in clear even when the server offers STARTTLS. */
	disableStartTls?: boolean;
	/** Client host name for EHLO. */
	hostName?: string;
	/** Accept a self-signed server certificate (n8n's Send Email option of the same name). */
	allowUnauthorizedCerts?: boolean;
}

export interface SmtpDelivery {
	accepted: string[];
	rejected: string[];
	response: string;
}

/** Sends raw message bytes with this envelope; resolves once the SMTP server accepted them. */
export type SendRaw = (raw: Buffer, envelope: { from: string; to: string[] }) => Promise<SmtpDelivery>;

/** A sender over SMTP with nodemailer, connecting the way n8n's Send Email node does. */
export function smtpSender(settings: SmtpSettings): { send: SendRaw; close(): void } {
	if (!settings.host) throw new Error('The SMTP credential has no host');
	const transport = createTransport({
		host: settings.host,
		port: settings.port,
		secure: settings.secure,
		ignoreTLS: settings.secure ? false : Boolean(settings.disableStartTls),
		name: settings.hostName || undefined,
		auth: settings.user || settings.password ? { user: settings.user ?? '', pass: settings.password ?? '' } : undefined,
		tls: settings.allowUnauthorizedCerts ? { rejectUnauthorized: false } : undefined,
		connectionTimeout: 30_000,
		greetingTimeout: 30_000,
		socketTimeout: 60_000,
	});
	return {
		async send(raw, envelope) {
			const info = await transport.sendMail({ envelope, raw });
			const list = (value: unknown): string[] => (Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : (v as { address: string }).address)) : []);
			return { accepted: list(info.accepted), rejected: list(info.rejected), response: String(info.response ?? '') };
		},
		close: () => transport.close(),
	};
}
