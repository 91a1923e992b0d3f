import type { ITriggerFunctions } from 'n8n-workflow';

import { spooledBytes } from '../../../core/spool/spool';
import type { DnsResolver } from '../../../core/dns';
import type { Heartbeat } from '../../../core/health/heartbeat';
import type { InboxConfig } from '../../../core/inbox';
import { buildIntakeEmission, type IntakeEmission } from '../../../core/workflow-delivery/emission';
import type { MessageBytes } from '../../../core/message-bytes';
import { decideSpooled } from '../../../core/intake/door';
import type { DecidedMessage } from '../../../core/intake/types';
import { givenUpReport } from '../../../core/workflow-delivery/retry';
import { SpoolDelivery } from '../../../core/workflow-delivery/spool-delivery';
import type { IntakeItem } from '../../../core/item';
import type { SpoolEntry } from '../../../core/store/types';
import type { Store } from '../../../core/store/roles';
import type { OutputOptions, TriggerOutputs } from './outputs';

/**
 * Where an emitted message's bytes are read from, for its attachments and raw message: its spool entry, or the
 * bytes of a mailbox fetch. Neither for mail set aside (refused, or held until released): its item names its
 * attachments but carries none.
 */
interface EmittedFrom {
	entry?: SpoolEntry;
	message?: MessageBytes;
}

/** How soon a release from quarantine (by the CLI, a node, another process) comes out of the running trigger. */
const RELEASE_PICKUP_MS = 5_000;

/**
 * The spool's side of the trigger: SMTP mail spooled before its 250, and quarantined mail of either door once
 * someone releases it, emitted with the decision it was answered with, re-emitted with backoff after a failure.
 */
export function createSpoolDelivery(
	context: ITriggerFunctions,
	options: {
		store: Store;
		inboxId: string;
		inbox: InboxConfig;
		via: IntakeItem['via'];
		resolver: DnsResolver;
		outputs: TriggerOutputs;
		outputOptions: OutputOptions;
		heartbeat: Heartbeat;
	},
): { delivery: SpoolDelivery; emissionFor(message: DecidedMessage, from?: EmittedFrom): IntakeEmission } {
	const { store, inboxId, inbox, outputs, heartbeat } = options;
	const emissionFor = (message: DecidedMessage, from: EmittedFrom = {}) =>
		buildIntakeEmission(message.result, message.content, {
			inboxAddress: inbox.address,
			via: options.via,
			receivedAt: message.receivedAt,
			released: from.entry?.released,
			message: from.entry ? spooledBytes(store, from.entry) : (from.message ?? null),
		});
	const delivery = new SpoolDelivery({
		store,
		inboxId,
		prepare: async (entry) => {
			const message = await decideSpooled(store, inboxId, entry, spooledBytes(store, entry), inbox, options.resolver);
			return message && emissionFor(message, { entry });
		},
		deliver: async (emission) => await outputs.deliver(emission),
		onGiveUp: (entry, error) => {
			const message = givenUpReport(
				`The message received at ${entry.receivedAt} (spool entry ${entry.id})`,
				entry.attempts,
				error,
				`It stays in the store's spool as failed: re-drive it with Failed Message > Re-drive or "hosted-inbox store spool redrive ${entry.id}".`,
			);
			heartbeat.noteError(message);
			outputs.reportGivenUp(message);
		},
		onError: (error) => {
			heartbeat.noteError(`Spool trouble (will retry): ${error.message}`);
			context.logger.warn(`Hosted inbox ${inbox.address}: spool trouble, will retry: ${error.message}`);
		},
		retry: options.outputOptions.retry,
		sweepIntervalMs: Math.min(RELEASE_PICKUP_MS, options.outputOptions.retry.baseDelayMs),
	});
	return { delivery, emissionFor };
}
