// `npm run package`: the Azure DevOps extension (.vsix), offline. Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tfx = require.resolve('tfx-cli/_build/tfx-cli.js');
const output = process.argv[2] ?? 'build/databricks-oidc-login.vsix';
mkdirSync('build', { recursive: true });
// The Marketplace shows content.license; the one LICENSE lives at the root, so copy it in.
copyFileSync('LICENSE', 'azure-devops-extension/LICENSE');
execFileSync(
  process.execPath,
  [
    tfx,
    'extension',
    'create',
    '--root',
    'azure-devops-extension',
    '--manifest-globs',
    'vss-extension.json',
    '--output-path',
    output,
    '--no-prompt',
    '--no-color',
  ],
  { stdio: 'inherit' },
);
