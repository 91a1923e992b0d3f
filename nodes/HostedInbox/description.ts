import type { INodeProperties } from 'n8n-workflow';

import { resources } from './resources';
import { resourceParameter, resourceProperties } from './shared/operation';

/** The Hosted Inbox fields, after the Store: the Resource, then each resource's Operation and its fields (resources/). */
export const hostedInboxProperties: INodeProperties[] = [resourceParameter(resources), ...resources.flatMap(resourceProperties)];
