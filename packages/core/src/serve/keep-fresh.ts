import { redactingLogger } from '../explain/logger.ts';
import {
  httpForOneLogin,
  type LoginContext,
  type LoginOptions,
  type LoginResult,
  login,
  obtainCredential,
  planLogin,
} from '../login.ts';
import { type MetadataServer, startMetadataServer } from './metadata-server.ts';
import { TokenProvider } from './token-provider.ts';

/** A completed login and a provider that keeps its credential fresh in this process. */
export interface FreshLogin {
  result: LoginResult;
  provider: TokenProvider;
}

/**
 * Logs in once (diagnostics and all), then refreshes in-process with the same plan, token
 * source and audience: what `exec`, `serve` and the library need, with no second process.
 */
export async function loginAndKeepFresh(options: LoginOptions): Promise<FreshLogin> {
  const result = await login(options);
  const plan = planLogin(options);
  const log = redactingLogger(options.log, options.secrets);
  // Refreshes say one line each; the first login already showed the claims and endpoints.
  const context: LoginContext = { ...options, log: { ...log, info: () => {} } };
  // A token minted elsewhere keeps its own audience: nothing to request on refresh either.
  const audience = {
    audience: options.idTokenSource.audienceSetWhereMinted ? '' : result.audience,
    source: 'the first login',
  };
  const provider = new TokenProvider(async () => {
    const { credential } = await obtainCredential(plan, audience, context, httpForOneLogin(plan, context));
    log.info(`Refreshed the Databricks token; the new one expires at ${credential.expiresAt.toISOString()}.`);
    return credential;
  }, result.credential);
  return { result, provider };
}

export interface ServeOptions extends LoginOptions {
  /** A fixed port; default any free one. */
  port?: number | undefined;
  maxLifetimeMs?: number | undefined;
}

/** Logs in, then serves the metadata service on 127.0.0.1 from this process until closed. */
export async function loginAndServe(options: ServeOptions): Promise<FreshLogin & { server: MetadataServer }> {
  const fresh = await loginAndKeepFresh(options);
  const server = await startMetadataServer({
    host: fresh.result.host,
    provider: fresh.provider,
    secrets: options.secrets,
    log: redactingLogger(options.log, options.secrets),
    port: options.port,
    maxLifetimeMs: options.maxLifetimeMs,
  });
  return { ...fresh, server };
}
