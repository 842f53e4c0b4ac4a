export function repositorySlug(repository: string | { url?: string } | undefined): string;
export const RELEASE: { version: string; repository: string };
export const releaseDefines: { __RELEASE_VERSION__: string; __RELEASE_REPOSITORY__: string };
