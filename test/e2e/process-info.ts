import { readFileSync } from 'node:fs';

/**
 * What a test can read of another process's command line and environment: Linux's /proc only.
 * macOS and Windows have no /proc, so there these checks are skipped (undefined), and `npm test`
 * still passes on a developer's Mac or Windows machine; CI runs them on Linux.
 */
export function processFile(pid: number, file: 'cmdline' | 'environ'): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return readFileSync(`/proc/${pid}/${file}`, 'utf8');
}
