import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { parseItem, resolvedItemSchema } from '../../core/item';
import { routeConversation, type RoutingOptions } from '../../core/routing/route';
import { getAgents, getTeams, idList } from '../shared/agentPickers';
import { storeCredentials, storeProperties } from '../shared/descriptions';
import { failedItem, withPart } from '../shared/pipelineItem';
import { getStore } from '../shared/store';

const whenAutomatic = { show: { autoAssign: [true] } };

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
		properties: [
			...storeProperties,
			{
				displayName: 'Assign Conversations Automatically',
				name: 'autoAssign',
				type: 'boolean',
				default: false,
				description: 'Whether to assign incoming conversations. Off by default: conversations stay unassigned.',
			},
			{
				displayName: 'Assign To',
				name: 'assignTo',
				type: 'options',
				default: 'specificUsersAndTeams',
				displayOptions: whenAutomatic,
				options: [
					{ name: 'Specific Users and Teams', value: 'specificUsersAndTeams', description: 'The selected users and the members of the selected teams' },
					{ name: 'Contact Owner', value: 'contactOwner', description: 'The owner of the contact (the contact must have an owner)' },
				],
			},
			{
				displayName: 'If No Owner or Owner Unavailable',
				name: 'ownerFallback',
				type: 'options',
				default: 'leaveUnassigned',
				displayOptions: { show: { autoAssign: [true], assignTo: ['contactOwner'] } },
				options: [
					{ name: 'Leave Unassigned', value: 'leaveUnassigned' },
					{ name: 'Assign to Specific Users and Teams', value: 'specificUsersAndTeams' },
				],
			},
			{
				displayName: 'User Names or IDs',
				name: 'users',
				type: 'multiOptions',
				typeOptions: { loadOptionsMethod: 'getAgents' },
				default: [],
				displayOptions: whenAutomatic,
				description: 'Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
				hint: 'Agents who take conversations (for Contact Owner: only as the fallback). An expression may give IDs or emails.',
			},
			{
				displayName: 'Team Names or IDs',
				name: 'teams',
				type: 'multiOptions',
				typeOptions: { loadOptionsMethod: 'getTeams' },
				default: [],
				displayOptions: whenAutomatic,
				description: 'Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
				hint: 'Teams whose members take conversations (for Contact Owner: only as the fallback). An expression may give IDs or names.',
			},
			{
				displayName: 'Distribution',
				name: 'distribution',
				type: 'options',
				default: 'roundRobin',
				displayOptions: whenAutomatic,
				options: [
					{ name: 'Round Robin', value: 'roundRobin', description: 'Take turns among the available agents' },
					{ name: 'Balanced', value: 'balanced', description: 'The available agent with the fewest open conversations' },
				],
			},
			{
				displayName: 'Only Assign to Available Users',
				name: 'onlyAvailable',
				type: 'boolean',
				default: true,
				displayOptions: whenAutomatic,
				description:
					'Whether to skip agents who are away, outside their working hours or at their capacity. If nobody is available the conversation stays unassigned.',
			},
		],
	};

	methods = { loadOptions: { getAgents, getTeams } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const assigned: INodeExecutionData[] = [];
		const unassigned: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const item = parseItem(resolvedItemSchema, 'an item from Resolve Original Sender', items[i].json);
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
				const { assignment, conversation } = await routeConversation(await getStore(this, i), item.conversation.id, options);
				const part = {
					assignment,
					conversation: { ...item.conversation, status: conversation.status, assigneeId: conversation.assigneeId, teamId: conversation.teamId },
				};
				(assignment.assignee ? assigned : unassigned).push(withPart(items[i], part, i));
			} catch (error) {
				unassigned.push(failedItem(this, items[i], error, i));
			}
		}
		return [assigned, unassigned];
	}
}
