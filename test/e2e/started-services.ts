import { stopOwnMetadataService } from '../../packages/core/src/index.ts';

/**
 * Every metadata service a step run by a test harness started, with its secret URL. Mode refresh
 * is the default, so any test that runs a main step may leave one; test/setup.ts stops them after
 * each test, even when the test failed before its own cleanup. Like the post steps, it signals a
 * PID only after the service at that URL confirmed it runs as that PID, so a reused PID is safe.
 */
const started = new Map<number, string | undefined>();

export function trackStartedService(pid: string | undefined, url: string | undefined): void {
  const n = Number(pid);
  if (Number.isInteger(n) && n > 0) started.set(n, url);
}

export async function stopStartedServices(): Promise<void> {
  const services = [...started];
  started.clear();
  await Promise.all(services.map(([pid, url]) => stopOwnMetadataService(pid, url)));
}
