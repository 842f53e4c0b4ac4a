// The one source of the release version and repository slug: the root package.json.
// build.mjs injects them into every bundle (esbuild `define`), vitest.config.ts into the sources
// under test; test/release/release-metadata.test.ts checks the files that cannot be templated.
import { readFileSync } from 'node:fs';

const rootPackage = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** `owner/name` from the package.json `repository` URL. */
export function repositorySlug(repository) {
  const url = typeof repository === 'string' ? repository : repository?.url;
  const match = /github\.com[/:]([^/]+\/[^/.]+?)(?:\.git)?$/.exec(url ?? '');
  if (!match) throw new Error(`package.json repository is not a GitHub URL: ${url}`);
  return match[1];
}

export const RELEASE = { version: rootPackage.version, repository: repositorySlug(rootPackage.repository) };

/** esbuild/vite `define` entries that release.ts reads. */
export const releaseDefines = {
  __RELEASE_VERSION__: JSON.stringify(RELEASE.version),
  __RELEASE_REPOSITORY__: JSON.stringify(RELEASE.repository),
};
