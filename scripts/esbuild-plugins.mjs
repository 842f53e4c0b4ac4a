// esbuild plugins of scripts/build.mjs, in a module of their own so tests can import them
// without running the build.
import { fileURLToPath } from 'node:url';

/**
 * Resolves `undici` to our stub. esbuild wants an absolute path: a file URL's `.pathname` is
 * `/D:/a/...` on Windows, which esbuild rejects, so the URL goes through fileURLToPath.
 * `windows` exists for tests; it defaults to this machine's platform, as fileURLToPath does.
 */
export function stubUndici(
  stub = new URL('./stubs/undici.mjs', import.meta.url),
  windows = process.platform === 'win32',
) {
  const path = fileURLToPath(stub, { windows });
  return {
    name: 'stub-undici',
    setup(b) {
      b.onResolve({ filter: /^undici$/ }, () => ({ path }));
    },
  };
}

/**
 * @actions/core imports @actions/http-client (and its proxy tunnel) for getIDToken, which we do
 * not call: declared free of side effects, it is dropped from the bundle instead of being loaded
 * on every start. The core's own HTTP layer loads only what a request needs.
 */
export const unusedHttpClient = {
  name: 'unused-http-client',
  setup(b) {
    b.onResolve({ filter: /^@actions\/http-client$/ }, async (args) => {
      if (args.pluginData?.resolving) return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: { resolving: true },
      });
      return { ...resolved, sideEffects: false };
    });
  },
};
