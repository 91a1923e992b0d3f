import type { ITriggerFunctions } from 'n8n-workflow';

import type { InboxConfig } from '../../../core/inbox';
import { purgeInbox, schedulePurge } from '../../../core/retention/purge';
import type { Store } from '../../../core/store/roles';

/** The inbox's retention, applied at activation and then daily while the trigger runs. */
export function startRetention(context: ITriggerFunctions, store: Store, inboxId: string, inbox: InboxConfig): { stop(): Promise<void> } {
	return schedulePurge(
		async () => {
			const purged = await purgeInbox(store, inboxId, inbox.retention);
			if (purged.delivered + purged.quarantined + purged.intakeLog > 0) {
				context.logger.info(`Hosted inbox ${inbox.address}: purged ${purged.delivered} delivered, ${purged.quarantined} quarantined messages and ${purged.intakeLog} intake log entries past retention`);
			}
		},
		(error) => context.logger.warn(`Hosted inbox ${inbox.address}: retention purge failed, tried again in a day: ${error.message}`),
	);
}
