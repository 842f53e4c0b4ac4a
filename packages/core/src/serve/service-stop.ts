import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { IDENTIFY_HEADER } from './metadata-server.ts';

/**
 * True while a process with this ID runs. On Linux a zombie (exited, not yet reaped by init)
 * counts as gone; elsewhere there is no /proc (on Windows the path would even name a folder of
 * the current drive), so kill(0) is all we know.
 */
export function isProcessAlive(pid: number, platform: NodeJS.Platform = process.platform): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // /proc not mounted: kill(0) is all we know
  }
}

/** Stops the service: SIGTERM, then SIGKILL after 5 s. Resolves true once the process is gone. */
export async function stopMetadataService(pid: number): Promise<boolean> {
  if (!isProcessAlive(pid)) return true;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return !isProcessAlive(pid);
  }
  for (let waited = 0; waited < 5_000; waited += 50) {
    if (!isProcessAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  return !isProcessAlive(pid);
}

/** What a post step found and did; `message` says it in plain words. */
export interface StopOutcome {
  outcome: 'stopped' | 'already-gone' | 'not-ours' | 'did-not-stop';
  message: string;
}

/** The PID the service at `url` reports for itself, or undefined when nothing there answers as one. */
function identify(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve(undefined);
      return;
    }
    if (target.protocol !== 'http:') {
      resolve(undefined);
      return;
    }
    const req = request(
      target,
      { method: 'GET', headers: { [IDENTIFY_HEADER]: '1' }, timeout: 3_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 1024) body += chunk;
        });
        res.on('end', () => {
          try {
            const answer = JSON.parse(body) as { service?: unknown; pid?: unknown };
            const ours = res.statusCode === 200 && answer.service === 'databricks-oidc-login';
            resolve(ours && typeof answer.pid === 'number' ? answer.pid : undefined);
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * The post steps' stop: signals `pid` only after the service at its secret `url` confirmed
 * that it runs as that PID, so a reused PID or a tampered state never gets a signal. Says
 * whether the service was stopped, was already gone, or the PID belongs to something else.
 */
export async function stopOwnMetadataService(pid: number, url: string | undefined): Promise<StopOutcome> {
  const confirmed = url ? await identify(url) : undefined;
  if (confirmed === pid) {
    return (await stopMetadataService(pid))
      ? { outcome: 'stopped', message: `Stopped the local metadata service (pid ${pid}).` }
      : {
          outcome: 'did-not-stop',
          message: `The local metadata service (pid ${pid}) did not stop; the runner ends it with the job.`,
        };
  }
  if (!isProcessAlive(pid)) {
    return {
      outcome: 'already-gone',
      message: `The local metadata service (pid ${pid}) had already stopped; nothing to do.`,
    };
  }
  const why =
    confirmed === undefined
      ? 'it does not answer as the metadata service this job started'
      : `the metadata service this job started runs as pid ${confirmed}`;
  return {
    outcome: 'not-ours',
    message: `Left pid ${pid} alone: ${why}, so that PID belongs to another process.`,
  };
}
