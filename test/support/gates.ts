/**
 * What a suite needs from outside the checkout: a service (PostgreSQL, Dovecot), node:sqlite, or the shared
 * corpus beside it. Present: the tests run. Absent on a developer's machine: a visible skip. Absent under
 * CI=true: each test fails, so a suite never passes by not running. The one exception is node:sqlite on a Node
 * that has none (Node 20): CI runs the suite on Node 24 too, where it is never missing.
 */
type Body = jest.ProvidesCallback;

export interface Gate {
	describe: (name: string, fn: () => void) => void;
	it: (name: string, fn: Body, timeout?: number) => void;
}

/** `missing`: why the suite cannot run here, or null when it can. */
export function gate(what: string, missing: string | null, options: { mayBeMissingInCi?: boolean } = {}): Gate {
	if (!missing) return { describe: (name, fn) => describe(name, fn), it: (name, fn, timeout) => it(name, fn, timeout) };
	if (process.env.CI === 'true' && !options.mayBeMissingInCi) {
		const fail = () => {
			throw new Error(`${what} is needed in CI: ${missing}`);
		};
		return { describe: (name) => describe(name, () => it(`needs ${what}`, fail)), it: (name) => it(name, fail) };
	}
	process.stderr.write(`\n  skipped (${what}): ${missing}\n`);
	return {
		describe: (name) => describe(name, () => it.skip(`skipped: ${missing}`, () => undefined)),
		it: (name) => it.skip(`${name} (skipped: ${missing})`, () => undefined),
	};
}
