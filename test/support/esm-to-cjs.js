// Jest transform for ESM-only dependencies (email-forward-parser): Node >= 20.19 require()s them natively,
// jest's CommonJS module system does not, so they are transpiled to CommonJS for the tests only.
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const code = source
      .replace(/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href")
      // an ESM module may declare its own `require`; in CommonJS that name is taken by the wrapper
      .replace(/\bconst require = /, 'const esmRequire = ')
      .replace(/\brequire\((["'])(?!node:url)/g, (m, q, offset, all) => (/const esmRequire/.test(all) ? `esmRequire(${q}` : m));
    const { outputText } = ts.transpileModule(code, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    return { code: outputText };
  },
};
