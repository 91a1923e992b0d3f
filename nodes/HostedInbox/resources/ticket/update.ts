import type { TicketInput } from '../../../../core/store/types';
import type { Operation } from '../../shared/operation';
import { asData } from '../../shared/operation';
import { nameOption, ownerOption, ticketIdField, updateFieldsCollection } from '../../shared/fields';
import { jsonObjectFromParameter, ownerIdFromParameter, text } from '../../shared/lookup';
import { requireTicket } from '../../shared/records';

export const update: Operation = {
	option: { name: 'Update', value: 'update', action: 'Update a ticket', description: 'Change a ticket\'s name, pipeline, stage, priority, owner or properties' },
	properties: [
		ticketIdField,
		updateFieldsCollection([
			nameOption,
			ownerOption('The owning agent\'s ID or email; empty removes the owner'),
			{ displayName: 'Pipeline', name: 'pipeline', type: 'string', default: '' },
			{ displayName: 'Priority', name: 'priority', type: 'string', default: '', description: 'Such as low, medium or high; empty clears it' },
			{
				displayName: 'Properties',
				name: 'properties',
				type: 'json',
				default: '{}',
				description: 'Custom properties to merge into the ticket\'s; a property set to null is removed',
			},
			{ displayName: 'Stage', name: 'stage', type: 'string', default: '', description: 'The stage "closed" (in any case) closes the ticket; any other stage reopens it' },
		]),
	],
	async execute(store, itemIndex) {
		const ticket = await requireTicket(store, text(this, 'ticketId', itemIndex));
		const fields = this.getNodeParameter('updateFields', itemIndex, {}) as Record<string, unknown>;
		const patch: Partial<TicketInput> = {};
		for (const key of ['name', 'pipeline', 'stage'] as const) {
			if (fields[key] !== undefined) patch[key] = String(fields[key]);
		}
		if (fields.priority !== undefined) patch.priority = String(fields.priority).trim() || null;
		if (fields.owner !== undefined) patch.ownerId = await ownerIdFromParameter(store, fields.owner);
		if (fields.properties !== undefined) patch.properties = jsonObjectFromParameter(fields.properties, 'Properties');
		return asData(await store.updateTicket(ticket.id, patch));
	},
};
