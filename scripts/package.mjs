// `npm run package`: the Azure DevOps extension (.vsix), offline. Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tfx = require.resolve('tfx-cli/_build/tfx-cli.js');
const output = process.argv[2] ?? 'build/databricks-oidc-login.vsix';
mkdirSync('build', { recursive: true });
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
