import type { Credential } from '../exchange/credential.ts';
import { type Logger, silentLogger } from '../safe-output/logger.ts';
import { SecretRegistry } from '../safe-output/redaction.ts';
import { type FreshLogin, loginAndKeepFresh } from '../serve/keep-fresh.ts';
import type { IdTokenSource } from '../sources/id-token-source.ts';
import { setUpWorkloadLogin, type WorkloadSettings } from './workload-settings.ts';

/** The library's options: those of the command-line tool, plus a logger and an optional source. */
export interface TokenProviderOptions extends WorkloadSettings {
  /** Where the plain-words transcript goes; silent by default. Lines are redacted. */
  log?: Logger | undefined;
  /** Your own ID-token source instead of the detected one. */
  idTokenSource?: IdTokenSource | undefined;
  /** Environment to read fallbacks and sources from; default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
}

/** Fresh Databricks tokens for a Node program, from the workload's own identity. */
export interface DatabricksTokenProvider {
  /** A Databricks access token with time left; refreshed before it expires, one request at a time. */
  getToken(): Promise<string>;
  /** The token and when it expires. */
  getCredential(): Promise<Credential>;
  /** The normalised Databricks host (after the first token). */
  getHost(): Promise<string>;
  /** The headers a workspace call needs besides the token: X-Databricks-Workspace-Id on a unified host. */
  getWorkspaceHeaders(): Promise<Record<string, string>>;
}

/**
 * Creates a token provider with the options of the command-line tool. Nothing happens until
 * the first getToken(): that call logs in (and throws the same LoginError the tool would);
 * later calls return the cached token, or refresh it through a single request in flight.
 *
 * @example
 * const provider = createTokenProvider({ host: 'https://dbc-123.cloud.databricks.com' });
 * const token = await provider.getToken();
 */
export function createTokenProvider(options: TokenProviderOptions = {}): DatabricksTokenProvider {
  let started: Promise<FreshLogin> | undefined;
  const start = () => {
    started ??= (async () => {
      const { options: login, chosen } = setUpWorkloadLogin(
        options,
        options.env ?? process.env,
        options.idTokenSource,
      );
      const log = options.log ?? silentLogger;
      if (chosen) log.info(`Token source: ${chosen.source.description} (${chosen.reason}).`);
      return loginAndKeepFresh({
        ...login,
        verify: options.verify ?? false,
        secrets: new SecretRegistry(),
        log,
      });
    })();
    // A failed first login may be retried by the next call.
    started.catch(() => {
      started = undefined;
    });
    return started;
  };
  const getCredential = async () => {
    const fresh = await start();
    return fresh.provider.getCredential();
  };
  return {
    getCredential,
    getToken: async () => (await getCredential()).token,
    getHost: async () => (await start()).result.host,
    getWorkspaceHeaders: async () => {
      const { result } = await start();
      return result.hostShape === 'unified' && result.workspaceId
        ? { 'x-databricks-workspace-id': result.workspaceId }
        : {};
    },
  };
}
