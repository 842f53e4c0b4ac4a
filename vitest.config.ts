import { defineConfig } from 'vitest/config';
import { releaseDefines } from './scripts/release-info.mjs';

export default defineConfig({
  // The sources under test read the version and repository as the bundles do (scripts/build.mjs).
  define: releaseDefines,
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Each e2e test starts its own emulators and child processes; two cores, so stay modest.
    maxWorkers: 2,
  },
});
