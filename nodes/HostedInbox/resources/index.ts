import type { Resource } from '../shared/operation';
import { agent } from './agent';
import { contact } from './contact';
import { conversation } from './conversation';
import { failedMessage } from './failedMessage';
import { forwarding } from './forwarding';
import { inbox } from './inbox';
import { intakeLog } from './intakeLog';
import { quarantine } from './quarantine';
import { sendingDomain } from './sendingDomain';
import { team } from './team';
import { ticket } from './ticket';

/**
 * The node's resources. A new one (e.g. Sending Domain, Forwarding) is a folder `resources/<resource>/` with one file
 * per operation and an index.ts exporting its Resource, listed here: the node picks it up, nothing else changes.
 */
export const resources: Resource[] = [inbox, agent, team, contact, conversation, ticket, intakeLog, quarantine, failedMessage, forwarding, sendingDomain];
