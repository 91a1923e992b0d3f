import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { conversationOfItem } from '../../core/conversation/of-item';
import { resolvedItemSchema } from '../../core/item';
import { routeConversation, type RoutingOptions } from '../../core/routing/route';
import { getAgents, getTeams, idList } from '../shared/agentPickers';
import { storeCredentials, storeProperties } from '../shared/descriptions';
import { eachItem } from '../shared/items';
import { getStore } from '../shared/store';
import { routeConversationProperties } from './description';

export class RouteConversation implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Route Conversation',
		name: 'routeConversation',
		icon: { light: 'file:routeConversation.svg', dark: 'file:routeConversation.dark.svg' },
		group: ['transform'],
		usableAsTool: true,
		version: 1,
		subtitle: '={{$parameter["autoAssign"] ? ($parameter["assignTo"] === "contactOwner" ? "to contact owner" : "to users and teams") : "automatic assignment off"}}',
		description: 'Assigns a conversation to an available agent (specific users and teams, or the contact owner) and says why',
		defaults: { name: 'Route Conversation' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Assigned', 'Unassigned'],
		credentials: storeCredentials,
		properties: [...storeProperties, ...routeConversationProperties],
	};

	methods = { loadOptions: { getAgents, getTeams } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const run = { outputs: 2, input: { schema: resolvedItemSchema, expected: 'an item from Resolve Original Sender' } };
		return await eachItem(this, run, async (item, i) => {
			const autoAssign = this.getNodeParameter('autoAssign', i, false) as boolean;
			const options: Partial<RoutingOptions> = { autoAssign };
			if (autoAssign) {
				options.assignTo = this.getNodeParameter('assignTo', i) as RoutingOptions['assignTo'];
				options.ownerFallback = this.getNodeParameter('ownerFallback', i, 'leaveUnassigned') as RoutingOptions['ownerFallback'];
				options.users = idList(this.getNodeParameter('users', i, []));
				options.teams = idList(this.getNodeParameter('teams', i, []));
				options.distribution = this.getNodeParameter('distribution', i) as RoutingOptions['distribution'];
				options.onlyAvailable = this.getNodeParameter('onlyAvailable', i) as boolean;
			}
			const store = await getStore(this, i);
			const { assignment, conversation } = await routeConversation(store, (await conversationOfItem(store, item)).id, options);
			const part = {
				assignment,
				conversation: { ...item.conversation, status: conversation.status, assigneeId: conversation.assigneeId, teamId: conversation.teamId },
			};
			return { part, output: assignment.assignee ? 0 : 1 };
		});
	}
}
