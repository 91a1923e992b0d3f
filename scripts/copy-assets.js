// Copies what tsc does not: node icons and codex files next to the compiled nodes and credentials.
const fs = require('node:fs');
const path = require('node:path');

function copyAssets(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const source = path.join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(source);
    else if (/\.(svg|png|json)$/.test(entry.name)) {
      const target = path.join('dist', source);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(source, target);
    }
  }
}
for (const dir of ['nodes', 'credentials']) copyAssets(dir);
