// The store tests' TypeScript runner, plus one rule it lacks: `X.node` imports mean X.node.ts, not the X.node.json
// codex next to it (Node tries .json before registered extensions).
const Module = require('node:module');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
	if (request.endsWith('.node')) {
		try {
			return resolveFilename.call(this, `${request}.ts`, ...rest);
		} catch {
			// not one of ours: resolve as usual
		}
	}
	return resolveFilename.call(this, request, ...rest);
};

require('../../store/children/run-ts.js');
