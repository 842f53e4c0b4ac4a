// Switches packages/core/package.json between the workspace entry (TypeScript sources, which
// the bundles and tests compile) and the published one (dist/index.js and its types), around
// `npm pack` / `npm publish` (prepack and postpack).
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../packages/core/package.json', import.meta.url);
const manifest = JSON.parse(readFileSync(path, 'utf8'));
const published = process.argv[2] === 'publish';
manifest.main = published ? 'dist/index.js' : 'src/index.ts';
manifest.exports = {
  '.': published ? { types: './dist/types/index.d.ts', import: './dist/index.js' } : './src/index.ts',
};
if (published) manifest.types = 'dist/types/index.d.ts';
else delete manifest.types;
writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
