import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Credential } from '../exchange/credential.ts';
import { httpForOneLogin, obtainClientCredentialsToken, obtainCredential } from '../login.ts';
import { type LoginOptions, planLogin, withHostMetadata } from '../login-plan.ts';
import type { HostMetadata } from '../net/host-metadata.ts';
import { HttpClient } from '../net/http.ts';
import { describeFailure, LoginError } from '../safe-output/errors.ts';
import { type Logger, redactingLogger } from '../safe-output/logger.ts';
import { neutraliseRunnerCommands } from '../safe-output/printable.ts';
import { SecretRegistry } from '../safe-output/redaction.ts';
import type { IdTokenSource } from '../sources/id-token-source.ts';
import { startMetadataServer } from './metadata-server.ts';
import { createPrivateFile } from './private-file.ts';
import { TokenProvider } from './token-cache.ts';

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
  | 'workspaceId'
> & {
  /** What the login read from the host: refreshes route by it and never ask again. */
  hostMetadata?: HostMetadata | undefined;
};

/** Sent over IPC, never through argv or env: it holds the first token and the CI job token. */
interface Handoff {
  settings: MetadataServiceSettings;
  audience: string;
  credential: { token: string; expiresAt: string };
  /** What the adapter's service needs to rebuild its token source (may hold the CI job token). */
  source?: unknown;
  maxLifetimeMs?: number | undefined;
  debug?: boolean | undefined;
  /** OAuth M2M: the service refreshes with this secret instead of an ID token. */
  clientSecret?: string | undefined;
}

type ServiceMessage = { type: 'ready'; url: string } | { type: 'failed'; message: string };

export interface RunningMetadataService {
  url: string;
  pid: number;
  /** The service's log (0600, created exclusively), when one was asked for. */
  logFile?: string | undefined;
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
  /** A folder for the service's log; its file gets a random name. */
  logDirectory?: string | undefined;
  /** An exact log path instead (created exclusively: an existing file or symlink is an error). */
  logFile?: string | undefined;
  /** What the service needs to rebuild the token source (see serveMetadataService). */
  source?: unknown;
  /** The safety limit: the service stops by itself after this long (default 5 days). */
  maxLifetimeMs?: number | undefined;
  /** Log debug lines (every request) too. */
  debug?: boolean | undefined;
  /** The environment to reduce for the service (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Set when the login used OAuth M2M: refreshes use it (it travels over IPC only). */
  clientSecret?: string | undefined;
}

/**
 * What the detached service keeps of the step's environment: what refreshing needs (proxy and
 * CA settings, and what Node needs to run), and the markers by which the runner and the agent
 * find leftover processes at the end of the job (RUNNER_TRACKING_ID, VSTS_PROCESS_LOOKUP_ID).
 * Never the CI's job tokens (ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN,
 * SYSTEM_ACCESSTOKEN): the service gets what it needs of those over IPC.
 */
export function metadataServiceEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const keep = new Set([
    'PATH',
    'HOME',
    'TMPDIR',
    'TEMP',
    'TMP',
    'SYSTEMROOT',
    'WINDIR',
    'COMSPEC',
    'LANG',
    'TZ',
    'HTTPS_PROXY',
    'HTTP_PROXY',
    'NO_PROXY',
    'ALL_PROXY',
    'NODE_USE_ENV_PROXY',
    'NODE_EXTRA_CA_CERTS',
    // Behind TLS inspection the company CA is often only in the system store (macOS, Windows):
    // without this the login works and every refresh fails once the first token expires.
    'NODE_USE_SYSTEM_CA',
    'NODE_TLS_REJECT_UNAUTHORIZED',
    'NODE_OPTIONS',
    'SSL_CERT_FILE',
    'SSL_CERT_DIR',
    'RUNNER_TRACKING_ID',
    'VSTS_PROCESS_LOOKUP_ID',
    // Endpoint overrides that refreshing reads (provider google, the GCE metadata server).
    'GOOGLE_STS_URL',
    'GOOGLE_IAM_CREDENTIALS_URL',
    'GCE_METADATA_HOST',
  ]);
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && keep.has(name.toUpperCase())) kept[name] = value;
  }
  return kept;
}

export async function launchMetadataService(launch: MetadataServiceLaunch): Promise<RunningMetadataService> {
  const { script, settings, credential, audience, source } = launch;
  const failed = (why: string) =>
    new LoginError('METADATA_SERVICE_FAILED', `Failed to start the local metadata service: ${why}`, {
      hint: 'Use mode: token, or re-run with debug logging and report the log.',
    });
  const logFile =
    launch.logFile ??
    (launch.logDirectory
      ? join(launch.logDirectory, `databricks-oidc-login-${randomBytes(12).toString('hex')}.log`)
      : undefined);
  let logFd: number | undefined;
  if (logFile) {
    try {
      logFd = createPrivateFile(logFile);
    } catch (error) {
      throw failed(`cannot create its log file ${logFile} (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  const output = logFd ?? 'ignore';
  const child = spawn(process.execPath, [script], {
    detached: true,
    stdio: ['ignore', output, output, 'ipc'],
    env: metadataServiceEnvironment(launch.env ?? process.env),
  });
  if (logFd !== undefined) closeSync(logFd); // the service holds its own copy
  const handoff: Handoff = {
    settings,
    audience,
    credential: { token: credential.token, expiresAt: credential.expiresAt.toISOString() },
    source,
    maxLifetimeMs: launch.maxLifetimeMs,
    debug: launch.debug,
    clientSecret: launch.clientSecret,
  };
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
    return { url: message.url, pid, logFile };
  } catch (error) {
    child.kill('SIGKILL');
    if (logFile) rmSync(logFile, { force: true });
    throw error;
  } finally {
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
  }
}

/** Asks the new service for a token exactly as an SDK would. */
async function probe(url: string, host: string): Promise<void> {
  const http = new HttpClient({ timeoutMs: 10_000, maxAttempts: 3 });
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

/**
 * Log lines go to stdout, which the launching step pointed at the private log file. They carry
 * server text and the post step shows them, so they are neutralised here too, not only there.
 */
function outputLogger(debug: boolean): Logger {
  const write = (level: string, message: string) => {
    try {
      writeSync(1, `${new Date().toISOString()} ${level} ${neutraliseRunnerCommands(message)}\n`);
    } catch {
      // Logging must never take the service down.
    }
  };
  return {
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    debug: (m) => (debug ? write('debug', m) : undefined),
  };
}

/**
 * The service process's main: waits for the handoff, serves tokens, exits when signalled or
 * after its maximum lifetime. `idTokenSource`
 * rebuilds the CI's token source from the `source` payload the login step handed over, and
 * registers any job token in it with `secrets`.
 */
export function serveMetadataService(
  idTokenSource: (source: unknown, secrets: SecretRegistry) => IdTokenSource,
): void {
  process.once('message', async (raw) => {
    const handoff = raw as Handoff;
    const secrets = new SecretRegistry();
    secrets.register(handoff.credential.token);
    const clientSecret = handoff.clientSecret;
    secrets.register(clientSecret);
    const log = redactingLogger(outputLogger(handoff.debug === true), secrets);
    try {
      const { hostMetadata, ...settings } = handoff.settings;
      const plan = withHostMetadata(
        planLogin({ ...settings, audience: handoff.audience || undefined }),
        hostMetadata,
        log,
      );
      // Keep only secrets that can still appear: ID tokens of the last two refreshes, and
      // access tokens until they expire. Without this the registry grows with every refresh.
      let idTokens: string[] = [];
      let previousIdTokens: string[] = [];
      const first = { token: handoff.credential.token, expiresAt: new Date(handoff.credential.expiresAt) };
      let issued: Credential[] = [first];
      const audience = { audience: handoff.audience, source: 'the login step' };
      // OAuth M2M refreshes with the secret; such a job may have no ID-token source at all (a fork).
      let fetchCredential: () => Promise<Credential>;
      if (clientSecret) {
        const context = { secrets, log };
        fetchCredential = () =>
          obtainClientCredentialsToken(plan, clientSecret, context, httpForOneLogin(plan, context));
      } else {
        const source = idTokenSource(handoff.source, secrets);
        const tracked: IdTokenSource = {
          description: source.description,
          fixedAudience: source.fixedAudience,
          getIdToken: async (audience, http) => {
            const token = await source.getIdToken(audience, http);
            idTokens.push(token);
            return token;
          },
        };
        const context = { idTokenSource: tracked, secrets, log };
        fetchCredential = async () =>
          (await obtainCredential(plan, audience, context, httpForOneLogin(plan, context))).credential;
      }
      const refresh = async (): Promise<Credential> => {
        for (const token of previousIdTokens) secrets.forget(token);
        previousIdTokens = idTokens;
        idTokens = [];
        const now = Date.now();
        for (const old of issued) if (old.expiresAt.getTime() <= now) secrets.forget(old.token);
        issued = issued.filter((c) => c.expiresAt.getTime() > now);
        try {
          const credential = await fetchCredential();
          issued.push(credential);
          log.info(
            `Refreshed the token; it expires at ${credential.expiresAt.toISOString()}. ${secrets.size} secrets kept for redaction.`,
          );
          return credential;
        } catch (error) {
          log.warn(`Token refresh failed: ${secrets.redact(describeFailure(error)).split('\n')[0]}`);
          throw error;
        }
      };
      const provider = new TokenProvider(refresh, first);
      const server = await startMetadataServer({
        host: plan.host,
        provider,
        secrets,
        log,
        maxLifetimeMs: handoff.maxLifetimeMs,
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
