// Builds the committed GitHub Action bundles (dist/) and the uncommitted dev tools (build/).
// Output must be byte-for-byte reproducible: CI rebuilds and fails if dist/ differs.
import { build } from 'esbuild';

const node = { bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning' };

const stubUndici = {
  name: 'stub-undici',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({
      path: new URL('./stubs/undici.mjs', import.meta.url).pathname,
    }));
  },
};

await Promise.all([
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
    plugins: [stubUndici],
  }),
  // The Azure DevOps task: the only bundle that contains azure-pipelines-task-lib.
  build({
    ...node,
    entryPoints: {
      main: 'packages/azure-devops-task/src/main.ts',
      post: 'packages/azure-devops-task/src/post.ts',
      'metadata-service': 'packages/azure-devops-task/src/metadata-service.ts',
    },
    outdir: 'azure-devops-extension/DatabricksOidcLoginV1',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    plugins: [stubUndici],
  }),
  build({
    ...node,
    entryPoints: { demo: 'scripts/demo.ts', bench: 'scripts/bench.ts' },
    outdir: 'build',
    outExtension: { '.js': '.mjs' },
    packages: 'external',
  }),
]);

// The command-line tool (npm package databricks-oidc-login): one file, run with `node` or as its bin.
await build({
  ...node,
  entryPoints: { 'databricks-oidc-login': 'packages/cli/src/main.ts' },
  outdir: 'packages/cli/dist',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  banner: { js: '#!/usr/bin/env node' },
  minify: true,
  legalComments: 'none',
  plugins: [stubUndici],
});

// The library @databricks-oidc-login/core: one ESM file; its dependencies stay npm dependencies.
await build({
  ...node,
  entryPoints: { index: 'packages/core/src/index.ts' },
  outdir: 'packages/core/dist',
  outExtension: { '.js': '.js' },
  packages: 'external',
});
