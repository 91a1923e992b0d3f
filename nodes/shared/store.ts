import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	IPollFunctions,
	ITriggerFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import { assertEmbeddedAllowed, defaultEmbeddedPath, openStore, type StoreOptions } from '../../core/store/open';
import { DEFAULT_SCHEMA } from '../../core/store/postgres';
import { n8nUserFolder, queueMode } from './environment';
import type { Store } from '../../core/store/roles';

/** Every node's store selection: the embedded store in n8n's data folder, or PostgreSQL via n8n's `postgres` credential. */
export type StoreEngineChoice = 'embedded' | 'postgres';

export type StoreContext = IExecuteFunctions | ITriggerFunctions | IPollFunctions | ILoadOptionsFunctions | IWebhookFunctions;

/** n8n's built-in Postgres credential (host, port, database, user, password, ssl, allowUnauthorizedCerts). */
export function postgresOptionsFromCredential(credential: ICredentialDataDecryptedObject, schema?: string): StoreOptions {
	const sslMode = typeof credential.ssl === 'string' ? credential.ssl : 'disable';
	// Same mapping as n8n's own Postgres node: "Ignore SSL issues" wins, otherwise any mode but "disable" means TLS.
	const ssl = credential.allowUnauthorizedCerts === true ? { rejectUnauthorized: false } : sslMode !== 'disable';
	return {
		engine: 'postgres',
		host: String(credential.host || 'localhost'),
		port: Number(credential.port) || 5432,
		database: String(credential.database || 'postgres'),
		user: String(credential.user || 'postgres'),
		password: String(credential.password ?? ''),
		ssl,
		schema: schema?.trim() || DEFAULT_SCHEMA,
		...(Number(credential.maxConnections) > 0 ? { maxConnections: Number(credential.maxConnections) } : {}),
	};
}

/** The embedded store's options, refused in queue mode and on a Node without node:sqlite (with the reason). */
export function embeddedOptions(): StoreOptions {
	assertEmbeddedAllowed(queueMode());
	return { engine: 'sqlite', path: defaultEmbeddedPath(n8nUserFolder()) };
}

function parameter(context: StoreContext, name: string, itemIndex: number, fallback: unknown): unknown {
	// Execute contexts take an item index; trigger, poll and load-options contexts do not.
	if ('getInputData' in context) return context.getNodeParameter(name, itemIndex, fallback);
	return (context.getNodeParameter as (name: string, fallback: unknown) => unknown)(name, fallback);
}

/** Resolves the node's Store parameter (and its credential) to store options. */
export async function storeOptionsFor(context: StoreContext, itemIndex = 0): Promise<StoreOptions> {
	const choice = parameter(context, 'store', itemIndex, 'embedded') as StoreEngineChoice;
	if (choice !== 'postgres') return embeddedOptions();
	const credential = await context.getCredentials('postgres');
	return postgresOptionsFromCredential(credential, parameter(context, 'storeSchema', itemIndex, DEFAULT_SCHEMA) as string);
}

// Opening (and migrating) per item would dominate every execution: one Store per process and options.
const stores = new Map<string, Promise<Store>>();
let exitHookInstalled = false;

function cacheKey(options: StoreOptions): string {
	return JSON.stringify(Object.entries(options).sort(([a], [b]) => a.localeCompare(b)));
}

/** The cached Store for these options, opened on first use; a failed open is not cached, so the next run retries. */
export function sharedStore(options: StoreOptions): Promise<Store> {
	const key = cacheKey(options);
	let store = stores.get(key);
	if (!store) {
		store = openStore(options);
		stores.set(key, store);
		store.catch(() => stores.delete(key));
		if (!exitHookInstalled) {
			exitHookInstalled = true;
			// The embedded engine closes synchronously, so even the 'exit' hook checkpoints its WAL cleanly.
			process.once('exit', () => void closeSharedStores());
		}
	}
	return store;
}

/** The store the node's Store parameter selects. */
export async function getStore(context: StoreContext, itemIndex = 0): Promise<Store> {
	return await sharedStore(await storeOptionsFor(context, itemIndex));
}

/** Closes every cached store (process exit; tests call it in afterAll). */
export async function closeSharedStores(): Promise<void> {
	const open = [...stores.values()];
	stores.clear();
	await Promise.allSettled(open.map(async (store) => await (await store).close()));
}
