/**
 * Stores for tests that run our nodes inside n8n: the node parameters and credentials selecting a store,
 * and the very Store instance the nodes will use (n8n's shared cache), to seed agents and check results.
 */
import { randomBytes } from 'node:crypto';
import type { ICredentialDataDecryptedObject, INodeParameters } from 'n8n-workflow';

import type { Store } from '../../core/store/roles';
import { closeSharedStores, embeddedOptions, postgresOptionsFromCredential, sharedStore } from '../../nodes/shared/store';
import { dropSchema, engineGate, storeArg, storeEngines, TEST_PG_URL, type EngineName } from './stores';

export interface NodeStore {
	engine: EngineName;
	store: Store;
	/** Spread into each of our nodes' parameters. */
	params: INodeParameters;
	/** Pass to runWorkflow; node JSON names the credential as `credentials`. */
	credentials: Record<string, ICredentialDataDecryptedObject>;
	nodeCredentials: Record<string, { id: string; name: string }> | undefined;
	/** The same store for the CLI's --store. */
	cliStore: string;
}

function pgCredential(): ICredentialDataDecryptedObject {
	const url = new URL(TEST_PG_URL);
	return {
		host: url.hostname,
		port: Number(url.port) || 5432,
		database: url.pathname.replace(/^\//, '') || 'postgres',
		user: decodeURIComponent(url.username) || 'postgres',
		password: decodeURIComponent(url.password),
		ssl: 'disable',
	};
}

/** Runs fn once per engine (embedded in n8n's data folder, PostgreSQL in a fresh schema), gated as gates.ts says. */
export function describeEachNodeStore(title: string, fn: (get: () => NodeStore) => void, only?: EngineName): void {
	for (const engine of storeEngines().filter((e) => !only || e.name === only)) {
		const label = `${title} [${engine.name}]`;
		engineGate(engine.name).describe(label, () => {
			let current: NodeStore | undefined;
			const schema = `hi_nodes_${randomBytes(6).toString('hex')}`;
			beforeAll(async () => {
				if (engine.name === 'sqlite') {
					const options = embeddedOptions();
					current = { engine: 'sqlite', store: await sharedStore(options), params: { store: 'embedded' }, credentials: {}, nodeCredentials: undefined, cliStore: storeArg(options) };
				} else {
					const credential = pgCredential();
					const options = postgresOptionsFromCredential(credential, schema);
					current = {
						engine: 'postgres',
						store: await sharedStore(options),
						cliStore: storeArg(options),
						params: { store: 'postgres', storeSchema: schema },
						credentials: { postgres: credential },
						nodeCredentials: { postgres: { id: 'pg-test', name: 'Test PostgreSQL' } },
					};
				}
			});
			afterAll(async () => {
				await closeSharedStores();
				if (engine.name === 'postgres') await dropSchema(schema);
			});
			fn(() => {
				if (!current) throw new Error(`the ${engine.name} store did not open (see beforeAll)`);
				return current;
			});
		});
	}
}
