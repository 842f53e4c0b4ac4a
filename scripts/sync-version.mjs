// `npm version X.Y.Z` runs this (the "version" script): it copies the root package.json version
// into the files that cannot read it at build time. Text edits keep each file's formatting.
// Usage: node scripts/sync-version.mjs [repository root]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
if (!match) throw new Error(`package.json version ${version} is not X.Y.Z`);
const [, major, minor, patch] = match;

function edit(path, replace) {
  const before = readFileSync(join(root, path), 'utf8');
  const after = replace(before);
  if (after === before && !before.includes(version)) throw new Error(`${path}: found no version to set`);
  writeFileSync(join(root, path), after);
  console.log(`${path}: ${version}`);
}

const firstVersionField = (text) => text.replace(/"version": "[^"]*"/, `"version": "${version}"`);
for (const dir of readdirSync(join(root, 'packages')))
  edit(`packages/${dir}/package.json`, firstVersionField);
edit('azure-devops-extension/vss-extension.json', firstVersionField);
edit('azure-devops-extension/DatabricksOidcLoginV1/task.json', (text) =>
  text.replace(/"version": \{\s*"Major": \d+,\s*"Minor": \d+,\s*"Patch": \d+\s*\}/, (old) =>
    old
      .replace(/"Major": \d+/, `"Major": ${major}`)
      .replace(/"Minor": \d+/, `"Minor": ${minor}`)
      .replace(/"Patch": \d+/, `"Patch": ${patch}`),
  ),
);
// The docs (README.md and the guides in docs/) pin the CLI's release in their examples: the npm
// package, the single file, the image. Every file with such a pin follows; at least one has them.
const pins = [
  [/databricks-oidc-login@\d+\.\d+\.\d+/g, `databricks-oidc-login@${version}`],
  [/\/releases\/download\/v\d+\.\d+\.\d+\//g, `/releases/download/v${version}/`],
  [/(ghcr\.io\/[\w.-]+\/[\w.-]+):\d+\.\d+\.\d+/g, `$1:${version}`],
];
const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const pinned = docs.filter((path) =>
  pins.some(([pattern]) => new RegExp(pattern.source).test(readFileSync(join(root, path), 'utf8'))),
);
if (pinned.length === 0) throw new Error('no document pins the CLI release');
for (const path of pinned)
  edit(path, (text) => pins.reduce((t, [pattern, replacement]) => t.replace(pattern, replacement), text));
