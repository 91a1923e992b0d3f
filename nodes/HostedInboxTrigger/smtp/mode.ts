import { NodeOperationError, type IDataObject, type ITriggerFunctions, type ITriggerResponse } from 'n8n-workflow';

import { Heartbeat } from '../../../core/health/heartbeat';
import { inboxWarnings } from '../../../core/inbox';
import { defaultSelfSignedCertificateFile } from '../../../core/smtp/certificate';
import { createSmtpDoor } from '../../../core/smtp/door';
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS, type ListenerSettings } from '../../../core/smtp/listener';
import { dnsResolver, n8nUserFolder } from '../../shared/environment';
import { getStore } from '../../shared/store';
import { readInboxConfig } from '../shared/inbox-settings';
import { createTriggerOutputs, readOutputOptions } from '../shared/outputs';
import { startRetention } from '../shared/retention';
import { createSpoolDelivery } from '../shared/spool';

/** Offline DNS for tests and air-gapped setups: a zone file in the corpus format instead of real lookups. */
async function readListenerSettings(context: ITriggerFunctions): Promise<ListenerSettings> {
	const settings = context.getNodeParameter('smtpSettings', {}) as IDataObject;
	let credential: IDataObject = {};
	try {
		credential = await context.getCredentials('hostedInboxSmtpListenerApi');
	} catch {
		// The credential is optional: no certificate (the install's self-signed one) and no AUTH.
	}
	const cert = String(credential.tlsPublicCertificate ?? '').trim();
	const key = String(credential.tlsPrivateKey ?? '').trim();
	if (Boolean(cert) !== Boolean(key)) {
		throw new NodeOperationError(context.getNode(), 'The SMTP listener credential needs both a TLS certificate and its private key, or neither');
	}
	const authUser = String(credential.authUser ?? '').trim();
	const defaults = DEFAULT_LISTENER_SETTINGS;
	const count = (name: keyof typeof defaults & string) => Number(settings[name] ?? defaults[name]);
	const seconds = (name: string, defaultMs: number) => Number(settings[name] ?? defaultMs / 1000) * 1000;
	return {
		...defaults,
		host: String(context.getNodeParameter('smtpHost', '0.0.0.0')).trim() || '0.0.0.0',
		port: Number(context.getNodeParameter('smtpPort', 2525)),
		tls: cert ? { cert, key } : null,
		selfSignedCertificateFile: defaultSelfSignedCertificateFile(n8nUserFolder()),
		requireTls: settings.requireTls === true,
		auth: authUser ? { username: authUser, password: String(credential.authPassword ?? '') } : null,
		maxConnections: count('maxConnections'),
		// 0 (or unset): the listener's default, room for 10 messages of the largest size limit on the port.
		inFlightBudgetBytes: Number(settings.inFlightBudgetMb ?? 0) * 1024 * 1024 || null,
		maxConnectionsPerClient: count('maxConnectionsPerClient'),
		maxRecipientErrors: count('maxRecipientErrors'),
		maxJunkCommands: count('maxJunkCommands'),
		hardErrorLimit: count('hardErrorLimit'),
		maxAuthFailures: count('maxAuthFailures'),
		errorSleepMs: seconds('errorSleepSeconds', defaults.errorSleepMs),
		socketTimeoutMs: seconds('socketTimeoutSeconds', defaults.socketTimeoutMs),
		dataTimeoutMs: seconds('dataTimeoutSeconds', defaults.dataTimeoutMs),
		sessionTimeoutMs: seconds('sessionTimeoutSeconds', defaults.sessionTimeoutMs),
		...(settings.serverName ? { serverName: String(settings.serverName) } : {}),
	};
}

/** "Receive via: SMTP": the hosted forwarding address, listening until the workflow is deactivated. */
export async function startSmtpMode(this: ITriggerFunctions): Promise<ITriggerResponse> {
	const localPart = String(this.getNodeParameter('forwardingLocalPart', '')).trim();
	const domain = String(this.getNodeParameter('forwardingDomain', '')).trim();
	if (!localPart || !domain) {
		throw new NodeOperationError(this.getNode(), 'Set the forwarding address: its name and the intake domain');
	}
	let inbox;
	try {
		inbox = readInboxConfig(this, `${localPart}@${domain}`);
	} catch (error) {
		throw new NodeOperationError(this.getNode(), error as Error);
	}
	const { address } = inbox;
	for (const warning of inboxWarnings(inbox, 'smtp')) this.logger.warn(`Hosted inbox ${address}: ${warning}`);
	const settings = await readListenerSettings(this);
	const resolver = dnsResolver();
	const store = await getStore(this);
	const { id: inboxId } = await store.registerInbox({ address, retention: inbox.retention });
	const outputOptions = readOutputOptions(this);
	const outputs = createTriggerOutputs(this, outputOptions);
	const heartbeat = new Heartbeat({ store, inboxId, via: 'smtp', onError: (error) => this.logger.warn(`Hosted inbox ${address}: could not write its heartbeat: ${error.message}`) });
	const noteTrouble = (message: string) => {
		heartbeat.noteError(message);
		this.logger.warn(`Hosted inbox ${address}: ${message}`);
	};
	const { delivery, emissionFor } = createSpoolDelivery(this, { store, inboxId, inbox, via: 'smtp', resolver, outputs, outputOptions, heartbeat });
	const receive = createSmtpDoor({
		store,
		inbox,
		inboxId,
		resolver,
		onTrouble: (error) => noteTrouble(`Answered 451 (try again later) because of local trouble: ${error.message}`),
		onSpooled: (entry, message) => delivery.submit(entry, Promise.resolve(message).then((m) => emissionFor(m, { entry }))),
		onRefused: (message) => {
			try {
				outputs.setAside(emissionFor(message));
			} catch (error) {
				// Already in the intake log; the side output is a convenience.
				this.logger.warn(`Hosted inbox ${address}: could not set a refused message aside: ${(error as Error).message}`);
			}
		},
	});
	const attached = await attachHostedInbox(settings, { address, maxMessageBytes: inbox.maxMessageBytes, receive, noteTrouble });
	if (attached.usesSelfSignedCertificate && settings.auth) {
		this.logger.warn(
			`Hosted inbox ${address}: AUTH is set but refused (538) until the SMTP listener credential has a TLS certificate: STARTTLS presents this install's self-signed one`,
		);
	}
	delivery.start();
	const retention = startRetention(this, store, inboxId, inbox);
	await heartbeat.start();

	return {
		closeFunction: async () => {
			await attached.detach();
			outputs.close();
			await delivery.stop();
			await retention.stop();
			await heartbeat.stop();
		},
	};
}
