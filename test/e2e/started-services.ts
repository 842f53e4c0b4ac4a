import { stopMetadataService } from '../../packages/core/src/index.ts';

/**
 * Every metadata service a step run by a test harness started. Mode refresh is the default, so
 * any test that runs a main step may leave one; test/setup.ts stops them after each test, even
 * when the test failed before its own cleanup.
 */
const started = new Set<number>();

export function trackStartedService(pid: string | undefined): void {
  const n = Number(pid);
  if (Number.isInteger(n) && n > 0) started.add(n);
}

export async function stopStartedServices(): Promise<void> {
  const pids = [...started];
  started.clear();
  await Promise.all(pids.map((pid) => stopMetadataService(pid)));
}
