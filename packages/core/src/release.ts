// Injected at build time from the root package.json (scripts/release-info.mjs), so the version and
// the repository are written in one place only.
declare const __RELEASE_VERSION__: string;
declare const __RELEASE_REPOSITORY__: string;

/** This release's version, e.g. `1.0.0`. */
export const RELEASE_VERSION: string = __RELEASE_VERSION__;

/** The GitHub repository, `owner/name`. */
export const RELEASE_REPOSITORY: string = __RELEASE_REPOSITORY__;

/** A file's URL in the documentation of the release that is running, e.g. `TROUBLESHOOTING.md`. */
export function releaseDocumentUrl(path: string): string {
  return `https://github.com/${RELEASE_REPOSITORY}/blob/v${RELEASE_VERSION}/${path}`;
}
