import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { IntakeLogEntry, IntakeLogKind } from '../../../../core/store/types';
import type { Store } from '../../../../core/store/roles';
import { inboxFilterField, limitField, returnAllField } from '../../shared/fields';
import { requireInbox } from '../../shared/lookup';

export const intakeFilters: INodeProperties[] = [returnAllField, limitField, inboxFilterField('entries')];

/** The newest intake-log entries of these kinds, for the node's Inbox filter and Return All / Limit. */
export async function listIntake(context: IExecuteFunctions, store: Store, itemIndex: number, kinds: IntakeLogKind[]): Promise<IntakeLogEntry[]> {
	const inboxRef = String(context.getNodeParameter('inbox', itemIndex, '')).trim();
	const inboxId = inboxRef ? (await requireInbox(store, inboxRef)).id : undefined;
	const limit = context.getNodeParameter('returnAll', itemIndex, false) ? undefined : (context.getNodeParameter('limit', itemIndex, 50) as number);
	const lists = await Promise.all(kinds.map(async (kind) => await store.listIntake({ kind, ...(inboxId ? { inboxId } : {}), ...(limit ? { limit } : {}) })));
	const entries = lists.flat().sort((a, b) => b.at.localeCompare(a.at));
	return limit ? entries.slice(0, limit) : entries;
}
