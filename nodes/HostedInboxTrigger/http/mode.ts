import type { ServerResponse } from 'node:http';
import {
	NodeOperationError,
	type IDataObject,
	type ITriggerFunctions,
	type ITriggerResponse,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { Heartbeat } from '../../../core/health/heartbeat';
import { createHttpDoor, type HttpAnswer, type HttpDoorSettings, type HttpFormat } from '../../../core/http/door';
import type { InboxConfig } from '../../../core/inbox';
import { replyLine, SMTP_REPLIES } from '../../../core/replies';
import type { Store } from '../../../core/store/roles';
import { buildIntakeEmission } from '../../../core/workflow-delivery/emission';
import { dnsResolver } from '../../shared/environment';
import { getStore } from '../../shared/store';
import { readInboxConfig } from '../shared/inbox-settings';
import { createTriggerOutputs, outputData, readOutputOptions } from '../shared/outputs';
import { startRetention } from '../shared/retention';
import { createSpoolDelivery } from '../shared/spool';

const FORMATS: readonly HttpFormat[] = ['raw', 'mailgun', 'sendgrid', 'postmark', 'ses'];
const DEFAULT_REDRIVE_AFTER_MINUTES = 10;

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

/** The format's secrets from the Hosted Inbox HTTP Door credential; a format without the secret it needs is a node error. */
async function readHttpSettings(context: HttpContext): Promise<HttpDoorSettings> {
	const format = context.getNodeParameter('httpFormat', 'raw') as HttpFormat;
	if (!FORMATS.includes(format)) throw new NodeOperationError(context.getNode(), `Unknown HTTP format "${String(format)}"`);
	const credential = await context.getCredentials('hostedInboxHttpApi');
	const secret = (name: string) => String(credential[name] ?? '').trim() || null;
	const settings = context.getNodeParameter('httpSettings', {}) as IDataObject;
	const door: HttpDoorSettings = {
		format,
		token: secret('token'),
		hmacSecret: secret('hmacSecret'),
		mailgunSigningKey: secret('mailgunSigningSecret'),
		snsTopicArns: format === 'ses' ? list(context.getNodeParameter('snsTopicArns', '')) : [],
		maxSkewSeconds: Number(settings.maxSkewSeconds ?? 300),
	};
	const missing =
		format === 'mailgun'
			? !door.mailgunSigningKey && 'a Mailgun signing key'
			: format === 'raw'
				? !door.token && !door.hmacSecret && 'a token or an HMAC secret'
				: !door.token && 'a token';
		// An open door would take anybody's mail: refuse to start (or answer) without the secret the format checks.
	if (missing) throw new NodeOperationError(context.getNode(), `The Hosted Inbox HTTP Door credential needs ${missing} for the ${format} format`);
	if (format === 'ses' && !door.snsTopicArns?.length) throw new NodeOperationError(context.getNode(), 'Name the SNS topic ARNs allowed to post here');
	return door;
}

function redriveAfterMs(context: HttpContext): number {
	const settings = context.getNodeParameter('httpSettings', {}) as IDataObject;
	return Number(settings.redriveAfterMinutes ?? DEFAULT_REDRIVE_AFTER_MINUTES) * 60_000;
}

/** Before the door could run: the provider keeps the message and posts it again. */
function tryAgain(): HttpAnswer {
	return { status: 503, headers: { 'Retry-After': '60' }, body: JSON.stringify({ status: 'try-again', reply: replyLine(SMTP_REPLIES.temporaryFailure) }) };
}

function answer(res: ServerResponse, reply: HttpAnswer): void {
	res.writeHead(reply.status, { ...reply.headers, 'Content-Type': 'application/json; charset=utf-8' });
	res.end(reply.body);
}

/**
 * "Receive via: HTTP" on the leader: registers the inbox, keeps its heartbeat and retention, and emits again what a
 * webhook run spooled but never recorded (n8n restarted, the run failed, no Resolve Original Sender in the workflow).
 */
export async function startHttpMode(this: ITriggerFunctions): Promise<ITriggerResponse> {
	const inbox = readHttpInbox(this);
	await readHttpSettings(this);
	// A test run listens on the test webhook URL; only the active workflow emits again what is left.
	if (this.getMode() === 'manual') return {};
	const store = await getStore(this);
	const { id: inboxId } = await store.registerInbox({ address: inbox.address, retention: inbox.retention });
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
 * the door reads, checks and spools it, answers, and the message becomes this run's item.
 */
export async function receiveHttp(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const req = this.getRequestObject();
	const res = this.getResponseObject();
	if (req.readableEnded || (req as { rawBody?: unknown }).rawBody !== undefined) {
		// n8n parsed the body: the node's options lost binaryData (saved by an older version). The bytes are not ours to trust.
		this.logger.error('Hosted inbox: n8n read the request body before the HTTP door; open the Hosted Inbox Trigger and save the workflow again');
		answer(res, tryAgain());
		return { noWebhookResponse: true };
	}
	const inbox = readHttpInbox(this);
	const settings = await readHttpSettings(this);
	let store: Store;
	let inboxId: string;
	try {
		store = await getStore(this);
		// The leader's trigger registered the inbox with its retention; a post before that registers it bare.
		inboxId = ((await store.getInbox(inbox.address)) ?? (await store.registerInbox({ address: inbox.address, retention: inbox.retention }))).id;
	} catch (error) {
		this.logger.warn(`Hosted inbox ${inbox.address}: answered "try again later": the store is not reachable: ${(error as Error).message}`);
		answer(res, tryAgain());
		return { noWebhookResponse: true };
	}
	const door = createHttpDoor({
		store,
		inbox,
		inboxId,
		resolver: dnsResolver(),
		settings,
		redriveAfterMs: redriveAfterMs(this),
		onTrouble: (error) => this.logger.warn(`Hosted inbox ${inbox.address}: answered "try again later" because of local trouble: ${error.message}`),
	});
	const result = await door({ method: req.method, headers: req.headers, body: req });
	answer(res, result.answer);

	const outputOptions = readOutputOptions(this);
	const source = { inboxAddress: inbox.address, via: 'http' as const };
	if ('spooled' in result) {
		const { entry, message } = result.spooled;
		const emission = buildIntakeEmission(message.result, message.content, { ...source, receivedAt: message.receivedAt, spoolId: entry.id });
		// Quarantined: held in the spool (released mail comes out of the leader's trigger), shown aside only on request.
		if (emission.output !== 'rejected' || outputOptions.emitRejected) {
			return { noWebhookResponse: true, workflowData: await outputData(this, outputOptions, [{ emission, raw: entry.raw }]) };
		}
	} else if ('refused' in result && outputOptions.emitRejected) {
		const { refused } = result;
		const emission = buildIntakeEmission(refused.result, refused.content, { ...source, receivedAt: refused.receivedAt });
		return { noWebhookResponse: true, workflowData: await outputData(this, outputOptions, [{ emission, raw: null }]) };
	}
	return { noWebhookResponse: true };
}
