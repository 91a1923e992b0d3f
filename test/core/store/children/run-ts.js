// Runs a TypeScript file of this project in a child process (the tests spawn writers and readers):
// transpiles on require with the project's TypeScript, no build step and no extra dependency.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
	const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
		fileName: filename,
		compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
	});
	module._compile(outputText, filename);
};

require(require('node:path').resolve(process.argv[2]));
