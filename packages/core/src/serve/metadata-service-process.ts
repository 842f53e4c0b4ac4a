import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import type { Credential } from '../exchange/credential.ts';
import { describeFailure, LoginError } from '../explain/errors.ts';
import { type Logger, redactingLogger } from '../explain/logger.ts';
import { SecretRegistry } from '../explain/redaction.ts';
import {
  httpForOneLogin,
  type LoginOptions,
  obtainClientCredentialsToken,
  obtainCredential,
  planLogin,
} from '../login.ts';
import { HttpClient } from '../net/http.ts';
import type { IdTokenSource } from '../sources/id-token-source.ts';
import { startMetadataServer } from './metadata-server.ts';
import { TokenProvider } from './token-provider.ts';

/** The serialisable settings a login step hands its metadata service. */
export type MetadataServiceSettings = Pick<
  LoginOptions,
  | 'host'
  | 'clientId'
  | 'accountId'
  | 'audience'
  | 'provider'
  | 'tenantId'
  | 'authorityHost'
  | 'timeoutMs'
  | 'workloadIdentityProvider'
  | 'serviceAccount'
>;

/** Sent over IPC, never through argv or env: it holds the first token. */
interface Handoff {
  settings: MetadataServiceSettings;
  audience: string;
  credential: { token: string; expiresAt: string };
  /** Where the service writes its (redacted) log, 0600. */
  logFile?: string | undefined;
  /** What the adapter's service needs to rebuild its token source (may hold the CI job token). */
  source?: unknown;
  /** OAuth M2M: the service refreshes with this secret instead of an ID token. */
  clientSecret?: string | undefined;
}

type ServiceMessage = { type: 'ready'; url: string } | { type: 'failed'; message: string };

export interface RunningMetadataService {
  url: string;
  pid: number;
}

const START_TIMEOUT_MS = 15_000;

/**
 * Starts `script` as a detached process that outlives this step, hands it the first
 * credential over IPC, waits until it answers a real token request, and lets it go.
 */
export interface MetadataServiceLaunch {
  /** The adapter's service bundle, which calls serveMetadataService. */
  script: string;
  settings: MetadataServiceSettings & { host: string };
  credential: Credential;
  audience: string;
  /** The URL is registered here the moment it is known, before anything could print it. */
  secrets: SecretRegistry;
  logFile?: string | undefined;
  /** What the service needs to rebuild the token source (see serveMetadataService). */
  source?: unknown;
  /** Set when the login used OAuth M2M: refreshes use it (it travels over IPC only). */
  clientSecret?: string | undefined;
}

/** The step's inputs may hold secrets (client-secret, pat): the service gets those over IPC only. */
function withoutStepInputs(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        !/^INPUT_/i.test(name) && name !== 'DATABRICKS_CLIENT_SECRET' && name !== 'DATABRICKS_TOKEN',
    ),
  );
}

export async function launchMetadataService(launch: MetadataServiceLaunch): Promise<RunningMetadataService> {
  const { script, settings, credential, audience, logFile, source, clientSecret } = launch;
  const child = spawn(process.execPath, [script], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: withoutStepInputs(process.env),
  });
  const handoff: Handoff = {
    settings,
    audience,
    credential: { token: credential.token, expiresAt: credential.expiresAt.toISOString() },
    logFile,
    source,
    clientSecret,
  };
  const failed = (why: string) =>
    new LoginError('METADATA_SERVICE_FAILED', `Failed to start the local metadata service: ${why}`, {
      hint: 'Use mode: token, or re-run with debug logging and report the log.',
    });
  try {
    const message = await new Promise<ServiceMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(failed(`it did not start within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      child.once('message', (m) => {
        clearTimeout(timer);
        resolve(m as ServiceMessage);
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(failed(e.message));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(failed(`it exited with code ${code}`));
      });
      child.send(handoff);
    });
    if (message.type !== 'ready') throw failed(message.message);
    launch.secrets.register(message.url);
    const pid = child.pid;
    if (pid === undefined) throw failed('it has no process ID');
    await probe(message.url, settings.host);
    return { url: message.url, pid };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
  }
}

/** Asks the new service for a token exactly as an SDK would. */
async function probe(url: string, host: string): Promise<void> {
  const http = new HttpClient({ timeoutMs: 5_000, maxAttempts: 3 });
  const response = await http.send({
    method: 'GET',
    url,
    step: 'reach the local metadata service',
    headers: { 'x-databricks-metadata-version': '1', 'x-databricks-host': host },
  });
  if (response.status !== 200 || !response.body.includes('access_token')) {
    throw new LoginError(
      'METADATA_SERVICE_FAILED',
      `Failed to reach the local metadata service: it answered HTTP ${response.status}`,
      {
        hint: 'Use mode: token, or re-run with debug logging and report the log.',
      },
    );
  }
}

function fileLogger(path: string | undefined): Logger {
  const write = (level: string, message: string) => {
    if (!path) return;
    try {
      appendFileSync(path, `${new Date().toISOString()} ${level} ${message}\n`, { mode: 0o600 });
    } catch {
      // Logging must never take the service down.
    }
  };
  return { info: (m) => write('info', m), warn: (m) => write('warn', m), debug: (m) => write('debug', m) };
}

/**
 * The service process's main: waits for the handoff, serves tokens, exits when signalled or
 * after its maximum lifetime. `idTokenSource` rebuilds the CI's token source from the `source`
 * payload the login step handed over (or from this process's env).
 */
export function serveMetadataService(idTokenSource: (source: unknown) => IdTokenSource): void {
  process.once('message', async (raw) => {
    const handoff = raw as Handoff;
    const secrets = new SecretRegistry();
    secrets.register(handoff.credential.token);
    secrets.register(handoff.clientSecret);
    const log = redactingLogger(fileLogger(handoff.logFile), secrets);
    try {
      const plan = planLogin({ ...handoff.settings, audience: handoff.audience || undefined });
      const clientSecret = handoff.clientSecret;
      let fetchCredential: () => Promise<Credential>;
      if (clientSecret) {
        const context = { secrets, log };
        fetchCredential = () =>
          obtainClientCredentialsToken(plan, clientSecret, context, httpForOneLogin(plan, context));
      } else {
        const context = { idTokenSource: idTokenSource(handoff.source), secrets, log };
        const audience = { audience: handoff.audience, source: 'the login step' };
        fetchCredential = async () =>
          (await obtainCredential(plan, audience, context, httpForOneLogin(plan, context))).credential;
      }
      const provider = new TokenProvider(fetchCredential, {
        token: handoff.credential.token,
        expiresAt: new Date(handoff.credential.expiresAt),
      });
      const server = await startMetadataServer({
        host: plan.host,
        provider,
        secrets,
        log,
        onClose: () => process.exit(0),
      });
      const stop = () => void server.close();
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      log.info(`Metadata service for ${plan.host} started, pid ${process.pid}.`);
      process.send?.({ type: 'ready', url: server.url } satisfies ServiceMessage);
    } catch (error) {
      process.send?.({
        type: 'failed',
        message: secrets.redact(describeFailure(error)),
      } satisfies ServiceMessage);
      process.exitCode = 1;
    } finally {
      if (process.connected) process.disconnect();
    }
  });
}

/** True while a process with this ID runs. A zombie (exited, not yet reaped by init) counts as gone. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS, Windows): kill(0) is all we know
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
