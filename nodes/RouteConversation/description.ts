import type { INodeProperties } from 'n8n-workflow';

const whenAutomatic = { show: { autoAssign: [true] } };

/** The Route Conversation fields, after the Store: whether to assign, to whom, how, and only to available agents or not. */
export const routeConversationProperties: INodeProperties[] = [
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
];
