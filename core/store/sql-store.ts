import { agentStore } from './aggregates/agents';
import { contactStore } from './aggregates/contacts';
import { conversationStore } from './aggregates/conversations';
import { forwardingCheckStore } from './aggregates/forwarding-checks';
import { heartbeatStore } from './aggregates/heartbeats';
import { inboxStore } from './aggregates/inboxes';
import { intakeLogStore } from './aggregates/intake-log';
import { mailboxCheckpointStore } from './aggregates/mailbox-checkpoints';
import { replayStore } from './aggregates/replays';
import { retentionStore } from './aggregates/retention';
import { sendingDomainStore } from './aggregates/sending-domains';
import { spoolStore } from './aggregates/spool';
import { ticketStore } from './aggregates/tickets';
import type { Store } from './roles';
import type { SqlDriver } from './sql';

/**
 * The store on any SqlDriver, composed of one module per aggregate (core/store/aggregates/), each implementing its
 * roles over the same driver: every statement is portable between SQLite >= 3.35 and PostgreSQL.
 */
export function sqlStore(db: SqlDriver): Store {
	return {
		engine: db.engine,
		location: db.location,
		close: () => db.close(),
		...inboxStore(db),
		...agentStore(db),
		...contactStore(db),
		...conversationStore(db),
		...ticketStore(db),
		...intakeLogStore(db),
		...spoolStore(db),
		...retentionStore(db),
		...mailboxCheckpointStore(db),
		...heartbeatStore(db),
		...forwardingCheckStore(db),
		...replayStore(db),
		...sendingDomainStore(db),
	};
}
