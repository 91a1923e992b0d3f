import { NodeOperationError, type IDataObject, type ITriggerFunctions, type ITriggerResponse } from 'n8n-workflow';
import { isEmailAddress } from '../../../core/address';

import { Heartbeat } from '../../../core/health/heartbeat';
import { createImapDoor, logTooLarge } from '../../../core/imap/door';
import {
	FAILED_KEYWORD,
	MailboxConfigError,
	MailboxPoller,
	peekLatestMessage,
	type AfterProcessing,
	type InitialSync,
	type MailboxConnection,
	type MailboxMessage,
	type PollerEvent,
} from '../../../core/imap/mailbox-poller';
import { bytesOf } from '../../../core/message-bytes';
import type { IntakeEmission } from '../../../core/workflow-delivery/emission';
import { EXECUTION_TIMEOUT_MS, givenUpReport, withTimeout } from '../../../core/workflow-delivery/retry';
import { dnsResolver } from '../../shared/environment';
import { getStore } from '../../shared/store';
import { readInboxConfig } from '../shared/inbox-settings';
import { createTriggerOutputs, readOutputOptions } from '../shared/outputs';
import { startRetention } from '../shared/retention';
import { createSpoolDelivery } from '../shared/spool';

function connectionFrom(credential: IDataObject): MailboxConnection {
	return {
		host: String(credential.host ?? '').trim(),
		port: Number(credential.port) || 993,
		secure: credential.secure !== false,
		user: String(credential.user ?? ''),
		password: String(credential.password ?? ''),
		allowUnauthorizedCerts: credential.allowUnauthorizedCerts === true,
	};
}

function afterProcessingFrom(context: ITriggerFunctions): AfterProcessing {
	const action = context.getNodeParameter('afterProcessing', 'markRead') as string;
	if (action === 'delete') return { action: 'delete' };
	if (action !== 'move') return { action: 'mark-read' };
	const folder = String(context.getNodeParameter('moveToFolder', 'Processed')).trim();
	if (!folder) throw new NodeOperationError(context.getNode(), 'Name the folder processed messages are moved to');
	return { action: 'move', folder };
}

function initialSyncFrom(context: ITriggerFunctions): InitialSync {
	const mode = context.getNodeParameter('initialSync', 'new') as string;
	if (mode === 'unread') return { mode: 'unread' };
	if (mode !== 'since') return { mode: 'new' };
	const since = new Date(String(context.getNodeParameter('initialSyncSince', '')));
	if (Number.isNaN(since.getTime())) throw new NodeOperationError(context.getNode(), 'Set the date from which mail is taken in on the first start');
	return { mode: 'since', since };
}

/** "Receive via: IMAP mailbox": takes mail from a mailbox until the workflow is deactivated. */
export async function startImapMode(this: ITriggerFunctions): Promise<ITriggerResponse> {
	const connection = connectionFrom(await this.getCredentials('imap'));
	if (!connection.host) throw new NodeOperationError(this.getNode(), 'The IMAP credential has no host');
	const mailbox = String(this.getNodeParameter('mailbox', 'INBOX')).trim() || 'INBOX';
	const address = String(this.getNodeParameter('mailboxAddress', '')).trim() || (isEmailAddress(connection.user) ? connection.user : '');
	if (!address) throw new NodeOperationError(this.getNode(), "Set the inbox address: the IMAP user is not an email address");
	let inbox;
	try {
		inbox = readInboxConfig(this, address);
	} catch (error) {
		throw new NodeOperationError(this.getNode(), error as Error);
	}
	const afterProcessing = afterProcessingFrom(this);
	const initialSync = initialSyncFrom(this);
	const settings = this.getNodeParameter('imapSettings', {}) as IDataObject;
	const store = await getStore(this);
	const { id: inboxId } = await store.registerInbox({ address: inbox.address, retention: inbox.retention });
	const outputOptions = readOutputOptions(this);
	const outputs = createTriggerOutputs(this, outputOptions);
	const resolver = dnsResolver();
	const takeIn = createImapDoor({ store, inbox, inboxId, resolver });
	const heartbeat = new Heartbeat({ store, inboxId, via: 'imap', onError: (error) => this.logger.warn(`Hosted inbox ${inbox.address}: could not write its heartbeat: ${error.message}`) });
	// Quarantined mail waits in the spool; once released, it comes out of Message from there.
	const { delivery, emissionFor } = createSpoolDelivery(this, { store, inboxId, inbox, via: 'imap', resolver, outputs, outputOptions, heartbeat });
	const where = `${connection.user}@${connection.host}:${connection.port}/${mailbox}`;
	const report = (message: string) => this.saveFailedExecution(new NodeOperationError(this.getNode(), message));

	/**
	 * Accepted mail and confirmations go out in one execution. Refused mail (in the intake log) and held mail (in the
	 * spool) are settled at the door: done even if the execution or another message's door then fails.
	 */
	const process = async (messages: MailboxMessage[], settled: (message: MailboxMessage) => void) => {
		const ready: IntakeEmission[] = [];
		for (const message of messages) {
			const outcome = await takeIn(message);
			if (outcome.action === 'emit') {
				ready.push(emissionFor(outcome.run, { message: bytesOf(message.raw) }));
				continue;
			}
			if (outcome.action === 'aside') outputs.setAside(emissionFor(outcome.run));
			settled(message);
		}
		if (ready.length) await withTimeout(outputs.deliverMany(ready), EXECUTION_TIMEOUT_MS, 'The workflow execution for these messages');
	};

	if (this.getMode() === 'manual') {
		// A test run shows the newest message and changes nothing: no flag, no move, no checkpoint.
		return {
			manualTriggerFunction: async () => {
				const latest = await peekLatestMessage(connection, mailbox, inbox.maxMessageBytes);
				if (!latest) throw new NodeOperationError(this.getNode(), `The mailbox ${where} is empty: send a message to it and test again`);
				if ('tooLarge' in latest) {
					throw new NodeOperationError(this.getNode(), `The newest message in ${where} is ${latest.tooLarge} bytes, over the inbox limit of ${inbox.maxMessageBytes}`);
				}
				const outcome = await createImapDoor({ store, inbox, inboxId, resolver, holdQuarantined: false })(latest);
				if (outcome.action === 'refused-not-email') throw new NodeOperationError(this.getNode(), 'The newest message is not an email');
				const emission = emissionFor(outcome.run, { message: bytesOf(latest.raw) });
				await outputs.deliverMany([outcome.action === 'emit' ? emission : { ...emission, output: 'rejected' }]);
			},
		};
	}

	const onEvent = (event: PollerEvent) => {
		switch (event.type) {
			case 'outage': {
				const message = `Lost the IMAP connection to ${where}: ${event.error.message}. Reconnecting on its own; mail waits in the mailbox meanwhile.`;
				heartbeat.noteError(message);
				report(message);
				break;
			}
			case 'reconnected':
				this.logger.info(`Hosted inbox ${inbox.address}: IMAP connection to ${where} is back after ${Math.round(event.downForMs / 1000)} s`);
				break;
			case 'resync':
				this.logger.warn(
					`Hosted inbox ${inbox.address}: UIDVALIDITY of ${where} changed (${event.previousUidValidity} -> ${event.uidValidity}): resyncing, messages the store recorded (same Message-ID, From and body) are not taken in again`,
				);
				break;
			case 'too-large':
				void logTooLarge(store, inboxId, inbox, mailbox, event).catch((error: Error) => this.logger.warn(`Hosted inbox ${inbox.address}: could not log an oversize message: ${error.message}`));
				this.logger.warn(`Hosted inbox ${inbox.address}: message ${event.messageId ?? `UID ${event.uid}`} in ${where} is ${event.size} bytes, over the limit; flagged, not downloaded`);
				break;
			case 'retry':
				this.logger.warn(`Hosted inbox ${inbox.address}: message ${event.messageId ?? `UID ${event.uid}`} failed (attempt ${event.attempt}): ${event.error.message}; retrying in ${Math.round(event.retryInMs / 1000)} s`);
				break;
			case 'given-up': {
				const message = givenUpReport(
					`The message ${event.messageId ?? `UID ${event.uid}`} in ${where}`,
					event.attempts,
					event.error,
					`It stays in the mailbox, flagged ${FAILED_KEYWORD} (remove the flag to have it tried again).`,
				);
				heartbeat.noteError(message);
				outputs.reportGivenUp(message);
				break;
			}
			case 'action-failed': {
				const message = `Processed messages (UIDs ${event.uids.join(', ')}) in ${where} could not be marked, moved or deleted: ${event.error.message}`;
				heartbeat.noteError(message);
				report(message);
				break;
			}
			case 'connected':
				this.logger.info(`Hosted inbox ${inbox.address}: taking mail from ${where} (${event.idle ? 'IDLE' : 'polling'})`);
				break;
		}
	};

	const poller = new MailboxPoller({
		connection,
		mailbox,
		store,
		maxMessageBytes: inbox.maxMessageBytes,
		initialSync,
		afterProcessing,
		process,
		alreadyTakenIn: async ({ messageId, from, bodyHash }) => (await store.findReplay({ inboxId, messageId, from, contentHash: bodyHash })) !== null,
		onEvent,
		retry: outputOptions.retry,
		batchSize: Number(settings.batchSize ?? 50),
		batchBytes: Number(settings.batchMegabytes ?? 8) * 1024 * 1024,
		pollIntervalMs: Number(settings.pollIntervalSeconds ?? 30) * 1000,
		maxIdleTimeMs: Number(settings.idleRestartMinutes ?? 5) * 60_000,
		reconnect: { baseDelayMs: 1000, maxDelayMs: Number(settings.reconnectMaxDelaySeconds ?? 60) * 1000 },
	});
	const startFailure = await poller.start().then(
		() => null,
		(error: Error) => error,
	);
	if (startFailure instanceof MailboxConfigError) throw new NodeOperationError(this.getNode(), startFailure.message);
	if (startFailure) throw new NodeOperationError(this.getNode(), startFailure);
	delivery.start();
	const retention = startRetention(this, store, inboxId, inbox);
	await heartbeat.start();
	return {
		closeFunction: async () => {
			await poller.stop();
			outputs.close();
			await delivery.stop();
			await retention.stop();
			await heartbeat.stop();
		},
	};
}
