import type { INodeParameters } from 'n8n-workflow';

import { CreateTicket } from '../../nodes/CreateTicket/CreateTicket.node';
import { ResolveOriginalSender } from '../../nodes/ResolveOriginalSender/ResolveOriginalSender.node';
import { RouteConversation } from '../../nodes/RouteConversation/RouteConversation.node';
import { packageNodeTypes, PACKAGE, type WorkflowJson } from './n8n-engine';
import type { NodeStore } from './nodeStores';

export const PIPELINE_NODE_TYPES = packageNodeTypes(ResolveOriginalSender, RouteConversation, CreateTicket);

export interface PipelineParams {
	resolve?: INodeParameters;
	route?: INodeParameters;
	ticket?: INodeParameters;
}

/**
 * The canvas of the setup steps: Start -> Resolve Original Sender -> Route Conversation (both outputs)
 * -> Create Ticket. `upTo` cuts it short (a run that died after Resolve).
 */
export function pipelineWorkflow(ns: NodeStore, params: PipelineParams = {}, upTo: 'resolve' | 'route' | 'ticket' = 'ticket'): WorkflowJson {
	const node = (name: string, type: string, parameters: INodeParameters = {}) => ({
		name,
		type: `${PACKAGE}.${type}`,
		parameters: { ...ns.params, ...parameters },
		...(ns.nodeCredentials ? { credentials: ns.nodeCredentials } : {}),
	});
	const to = (name: string) => [{ node: name, type: 'main' as const, index: 0 }];
	const nodes: WorkflowJson['nodes'] = [
		{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
		node('Resolve Original Sender', 'resolveOriginalSender', params.resolve),
	];
	const connections: WorkflowJson['connections'] = { Start: { main: [to('Resolve Original Sender')] } };
	if (upTo !== 'resolve') {
		nodes.push(node('Route Conversation', 'routeConversation', params.route));
		connections['Resolve Original Sender'] = { main: [to('Route Conversation')] };
	}
	if (upTo === 'ticket') {
		nodes.push(node('Create Ticket', 'createTicket', params.ticket));
		connections['Route Conversation'] = { main: [to('Create Ticket'), to('Create Ticket')] };
	}
	return { nodes, connections };
}
