// Builds the committed GitHub Action bundles (dist/) and the uncommitted dev tools (build/).
// Output must be byte-for-byte reproducible: CI rebuilds and fails if dist/ differs.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { stubUndici, unusedHttpClient } from './esbuild-plugins.mjs';
import { releaseDefines } from './release-info.mjs';

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
  // The version and repository slug, from the root package.json (scripts/release-info.mjs).
  define: releaseDefines,
};

// `databricks-oidc-token` for later steps: a bundled node script, a POSIX shell wrapper (sh,
// dash, macOS bash 3.2, Git Bash) and a .cmd (cmd.exe, PowerShell) in the same folder.
const TOKEN_COMMAND_SH = `#!/bin/sh
# databricks-oidc-token: prints a fresh Databricks access token from this job's local metadata
# service (DATABRICKS_METADATA_SERVICE_URL, DATABRICKS_HOST), set by databricks-oidc-login.
#   curl -H "Authorization: Bearer $(databricks-oidc-token)" "$DATABRICKS_HOST/api/2.0/..."
if ! command -v node >/dev/null 2>&1; then
  echo "databricks-oidc-token: node is not on PATH; install Node.js 20 or later (e.g. actions/setup-node)" >&2
  exit 127
fi
exec node "$(dirname "$0")/databricks-oidc-token.cjs" "$@"
`;
// From a cmd step it must be run with `call`: a batch file started without it never returns.
const TOKEN_COMMAND_CMD = [
  '@echo off',
  "rem databricks-oidc-token: prints a fresh Databricks access token from this job's local metadata service.",
  'rem In cmd.exe scripts: call databricks-oidc-token',
  'rem Self-hosted agents often have node only in their own folder: say so instead of "not recognized".',
  'where node >nul 2>nul',
  'if errorlevel 1 (',
  '  echo databricks-oidc-token: node is not on PATH; install Node.js 20 or later, e.g. with actions/setup-node 1>&2',
  '  exit /b 127',
  ')',
  'rem %~dp0 is this folder, with its trailing backslash; the quotes keep spaces in the path.',
  'node "%~dp0databricks-oidc-token.cjs" %*',
  'exit /b %ERRORLEVEL%',
  '',
].join('\r\n');

function writeTokenCommandWrappers(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'databricks-oidc-token'), TOKEN_COMMAND_SH);
  chmodSync(join(dir, 'databricks-oidc-token'), 0o755);
  writeFileSync(join(dir, 'databricks-oidc-token.cmd'), TOKEN_COMMAND_CMD);
}
const TASK_DIR = 'azure-devops-extension/DatabricksOidcLoginV1';
writeTokenCommandWrappers('dist/bin');
writeTokenCommandWrappers(join(TASK_DIR, 'bin'));

const tokenCommand = {
  ...node,
  entryPoints: { 'databricks-oidc-token': 'packages/core/src/serve/databricks-oidc-token.ts' },
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  minify: true,
  legalComments: 'none',
  plugins: [stubUndici()],
};

await Promise.all([
  build({ ...tokenCommand, outdir: 'dist/bin' }),
  build({ ...tokenCommand, outdir: join(TASK_DIR, 'bin') }),
  build({
    ...node,
    entryPoints: {
      main: 'packages/github-action/src/main.ts',
      post: 'packages/github-action/src/post.ts',
      'metadata-service': 'packages/github-action/src/metadata-service.ts',
    },
    outdir: 'dist',
    // CommonJS starts about 8 ms faster than an ESM entry on Node 20-24; @actions/core 3 is
    // ESM-only but converts cleanly because nothing in the graph uses top-level await.
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    minify: true,
    legalComments: 'none',
    plugins: [stubUndici(), unusedHttpClient],
  }),
  // The Azure DevOps task: the only bundle that contains azure-pipelines-task-lib.
  build({
    ...node,
    entryPoints: {
      main: 'packages/azure-devops-task/src/main.ts',
      post: 'packages/azure-devops-task/src/post.ts',
      'metadata-service': 'packages/azure-devops-task/src/metadata-service.ts',
    },
    outdir: TASK_DIR,
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    plugins: [stubUndici()],
  }),
  build({
    ...node,
    entryPoints: { demo: 'scripts/demo.ts', bench: 'scripts/bench.ts', 'self-test': 'scripts/self-test.ts' },
    outdir: 'build',
    outExtension: { '.js': '.mjs' },
    packages: 'external',
  }),
]);

// The command-line tool (npm package databricks-oidc-login): one file, run with `node` or as its bin.
// Committed like dist/ (CI fails if stale), so `npm ci` in a fresh clone links a bin that exists,
// and the release attaches this very file.
const CLI_BUNDLE = 'packages/cli/dist/databricks-oidc-login.cjs';
await build({
  ...node,
  entryPoints: { 'databricks-oidc-login': 'packages/cli/src/main.ts' },
  outdir: 'packages/cli/dist',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  banner: { js: '#!/usr/bin/env node' },
  minify: true,
  legalComments: 'none',
  plugins: [stubUndici()],
});
chmodSync(CLI_BUNDLE, 0o755);

// The library @databricks-oidc-login/core: one ESM file; its dependencies stay npm dependencies.
await build({
  ...node,
  entryPoints: { index: 'packages/core/src/index.ts' },
  outdir: 'packages/core/dist',
  outExtension: { '.js': '.js' },
  packages: 'external',
});
