// `node -r ./scripts/register-ts.js file.ts` runs the repo's TypeScript (demo, benches, the tests' child processes)
// on Node 20 and 24 alike: transpile-only, as ts-jest does for the tests (tsc --noEmit type-checks them).
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
	const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
		fileName: filename,
		compilerOptions: {
			module: ts.ModuleKind.CommonJS,
			target: ts.ScriptTarget.ES2022,
			esModuleInterop: true,
			inlineSourceMap: true,
		},
	});
	module._compile(outputText, filename);
};

// `X.node` imports mean X.node.ts, not the X.node.json codex beside it (Node tries .json before registered extensions).
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

// `node scripts/register-ts.js file.ts args...` (child processes, benches that spawn themselves): runs file.ts,
// which reads its own arguments from process.argv[3] on.
if (require.main === module) require(require('node:path').resolve(process.argv[2]));
