// Lets plain `node -r ./scripts/e2e/register-ts.js x.ts` run the repo's TypeScript scripts (demo, e2e runner)
// on Node 20 and 24 alike: transpile-only, as ts-jest does for the tests (tsc --noEmit type-checks them).
const fs = require('node:fs');
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
