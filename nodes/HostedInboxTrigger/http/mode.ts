import {
	NodeOperationError,
	type IDataObject,
	type ITriggerFunctions,
	type ITriggerResponse,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { spooledBytes } from '../../../core/spool/spool';
import { Heartbeat } from '../../../core/health/heartbeat';
import { sendAnswer, tryAgainAnswer } from '../../../core/http/answers';
import { createHttpDoor, DEFAULT_MAX_SKEW_SECONDS, DEFAULT_REDRIVE_AFTER_MS, type HttpFormat } from '../../../core/http/door';
import type { InboxConfig } from '../../../core/inbox';
import type { Store } from '../../../core/store/roles';
import { buildIntakeEmission } from '../../../core/workflow-delivery/emission';
import { dnsResolver, dnsResolverForPosts, snsCertificates } from '../../shared/environment';
import { getStore } from '../../shared/store';
import { readInboxConfig } from '../shared/inbox-settings';
import { createTriggerOutputs, outputData, readOutputOptions } from '../shared/outputs';
import { startRetention } from '../shared/retention';
import { createSpoolDelivery } from '../shared/spool';

type HttpContext = ITriggerFunctions | IWebhookFunctions;

function list(value: unknown): string[] {
	return String(value ?? '')
		.split(/[,\s]+/)
		.map((part) => part.trim())
		.filter(Boolean);
}

/** The inbox the posted mail is for, with its trust settings; invalid settings are a node error naming the field. */
function readHttpInbox(context: HttpContext): InboxConfig {
	const address = String(context.getNodeParameter('httpAddress', '')).trim();
	if (!address) throw new NodeOperationError(context.getNode(), 'Set the inbox address the posted mail is for');
	try {
		return readInboxConfig(context, address);
	} catch (error) {
		throw new NodeOperationError(context.getNode(), error as Error);
	}
}

/**
 * The door of this node's settings: its format, the secrets from the Hosted Inbox HTTP Door credential, the inbox.
 * A format without the secret it checks is a node error (the door names what is missing).
 */
async function openHttpDoor(context: HttpContext, store: Store, inbox: InboxConfig, inboxId: string, runCarriesForwarding = false) {
	const format = context.getNodeParameter('httpFormat', 'raw') as HttpFormat;
	const credential = await context.getCredentials('hostedInboxHttpApi');
	const secret = (name: string) => String(credential[name] ?? '').trim() || null;
	const settings = context.getNodeParameter('httpSettings', {}) as IDataObject;
	try {
		return createHttpDoor({
			store,
			inbox,
			inboxId,
			resolver: dnsResolverForPosts(),
			fetchCertificate: snsCertificates(),
			settings: {
				format,
				token: secret('token'),
				hmacSecret: secret('hmacSecret'),
				mailgunSigningKey: secret('mailgunSigningSecret'),
				snsTopicArns: format === 'ses' ? list(context.getNodeParameter('snsTopicArns', '')) : [],
				maxSkewSeconds: Number(settings.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS),
			},
			redriveAfterMs: settings.redriveAfterSeconds === undefined ? DEFAULT_REDRIVE_AFTER_MS : Number(settings.redriveAfterSeconds) * 1000,
			runCarriesForwarding,
			onTrouble: (error) => context.logger.warn(`Hosted inbox ${inbox.address}: answered "try again later" because of local trouble: ${error.message}`),
		});
	} catch (error) {
		throw new NodeOperationError(context.getNode(), error as Error);
	}
}

/**
 * "Receive via: HTTP" on the leader: registers the inbox, keeps its heartbeat and retention, and emits again what a
 * webhook run spooled but never recorded (n8n restarted, the run failed, no Resolve Original Sender in the workflow).
 * It alone emits forwarding confirmations and tests, which no step records: it marks them done once their run succeeded.
 */
export async function startHttpMode(this: ITriggerFunctions): Promise<ITriggerResponse> {
	const inbox = readHttpInbox(this);
	const store = await getStore(this);
	const { id: inboxId } = await store.registerInbox({ address: inbox.address, retention: inbox.retention });
	// Said at activation rather than on the first post: a format without its secret.
	await openHttpDoor(this, store, inbox, inboxId);
	// A test run listens on the test webhook URL; only the active workflow emits again what is left.
	if (this.getMode() === 'manual') return {};
	const outputOptions = readOutputOptions(this);
	const outputs = createTriggerOutputs(this, outputOptions);
	const heartbeat = new Heartbeat({ store, inboxId, via: 'http', onError: (error) => this.logger.warn(`Hosted inbox ${inbox.address}: could not write its heartbeat: ${error.message}`) });
	const { delivery } = createSpoolDelivery(this, { store, inboxId, inbox, via: 'http', resolver: dnsResolver(), outputs, outputOptions, heartbeat });
	delivery.start();
	const retention = startRetention(this, store, inboxId, inbox);
	await heartbeat.start();
	return {
		closeFunction: async () => {
			outputs.close();
			await delivery.stop();
			await retention.stop();
			await heartbeat.stop();
		},
	};
}

/**
 * One post to the HTTP door (on whichever n8n process serves webhooks): n8n left the body unread (options.binaryData),
 * the door reads, checks and spools it, answers, and the message becomes this run's item (a forwarding confirmation
 * or test only in a test run: the active workflow's trigger emits it).
 */
export async function receiveHttp(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const req = this.getRequestObject();
	const res = this.getResponseObject();
	const inbox = readHttpInbox(this);
	// The answer is sent while the run goes on: a failure to send it (the client gone) is only noted.
	const unsent = (error: Error) => this.logger.warn(`Hosted inbox ${inbox.address}: could not send the HTTP answer: ${error.message}`);
	if (req.readableEnded || (req as { rawBody?: unknown }).rawBody !== undefined) {
		// n8n read the body: the node's options lost binaryData. Its bytes are no longer the message as sent.
		this.logger.error(`Hosted inbox ${inbox.address}: n8n read the request body before the HTTP door; open the Hosted Inbox Trigger, save the workflow again`);
		sendAnswer(res, tryAgainAnswer()).catch(unsent);
		return { noWebhookResponse: true };
	}
	let store: Store;
	let inboxId: string;
	try {
		store = await getStore(this);
		// The leader's trigger registered the inbox with its retention; a post before that registers it bare.
		inboxId = ((await store.getInbox(inbox.address)) ?? (await store.registerInbox({ address: inbox.address, retention: inbox.retention }))).id;
	} catch (error) {
		this.logger.warn(`Hosted inbox ${inbox.address}: answered "try again later": the store is not reachable: ${(error as Error).message}`);
		sendAnswer(res, tryAgainAnswer()).catch(unsent);
		return { noWebhookResponse: true };
	}
	// A test run (the test URL) carries a forwarding confirmation itself: no sweep watches it.
	const door = await openHttpDoor(this, store, inbox, inboxId, this.getMode() === 'manual');
	const result = await door({ method: req.method, headers: req.headers, body: req });
	// Not waited for: a 413 reads the rest of its body for up to minutes.
	sendAnswer(res, result.answer, req).catch(unsent);

	const outputOptions = readOutputOptions(this);
	const source = { inboxAddress: inbox.address, via: 'http' as const };
	if ('spooled' in result) {
		const { entry, message } = result.spooled;
		const emission = buildIntakeEmission(message.result, message.content, { ...source, receivedAt: message.receivedAt, spoolId: entry.id, message: spooledBytes(store, entry) });
		const workflowData = await outputData(this, outputOptions, [emission]);
		// A test run's forwarding confirmation: no step records it, so it is done once emitted, as in an SMTP test run.
		if (emission.output === 'forwarding') {
			await store.spoolComplete(entry.id).catch((error: Error) => this.logger.warn(`Hosted inbox ${inbox.address}: could not mark a tested forwarding confirmation done: ${error.message}`));
		}
		return { noWebhookResponse: true, workflowData };
	}
	if ('refused' in result && outputOptions.emitRejected) {
		// Refused, deferred or held: in the intake log (held mail in the spool, out of Message once released).
		const { refused } = result;
		const emission = buildIntakeEmission(refused.result, refused.content, { ...source, receivedAt: refused.receivedAt });
		return { noWebhookResponse: true, workflowData: await outputData(this, outputOptions, [emission]) };
	}
	return { noWebhookResponse: true };
}
