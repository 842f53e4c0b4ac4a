import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Each e2e test starts its own emulators and child processes; two cores, so stay modest.
    maxWorkers: 2,
  },
});
