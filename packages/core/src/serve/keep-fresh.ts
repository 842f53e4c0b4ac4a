import type { Credential } from '../exchange/credential.ts';
import {
  httpForOneLogin,
  type LoginContext,
  type LoginResult,
  login,
  obtainClientCredentialsToken,
  obtainCredential,
} from '../login.ts';
import { type LoginOptions, planLogin, withHostMetadata } from '../login-plan.ts';
import { describeFailure } from '../safe-output/errors.ts';
import { redactingLogger } from '../safe-output/logger.ts';
import { type MetadataServer, startMetadataServer } from './metadata-server.ts';
import { TokenProvider } from './token-cache.ts';

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
  const log = redactingLogger(options.log, options.secrets);
  // Routed as the login was, by the metadata it read: refreshes never ask the host again.
  const plan = withHostMetadata(planLogin(options), result.hostMetadata, log, options.inputNames);
  // Refreshes say one line each; the first login already showed the claims and endpoints.
  const quiet = { ...log, info: () => {} };
  let refresh: () => Promise<Credential>;
  if (result.authType === 'pat') {
    // Its expiry is not known and nothing can renew it: the provider hands out the PAT as it is.
    refresh = async () => result.credential;
  } else if (result.authType === 'm2m') {
    const clientSecret = options.clientSecret?.trim() ?? '';
    const context = { secrets: options.secrets, log: quiet };
    refresh = () => obtainClientCredentialsToken(plan, clientSecret, context, httpForOneLogin(plan, context));
  } else {
    const source =
      typeof options.idTokenSource === 'function' ? options.idTokenSource() : options.idTokenSource;
    const context: LoginContext = { ...options, idTokenSource: source, log: quiet };
    // A token minted elsewhere keeps its own audience: nothing to request on refresh either.
    const audience = {
      audience: source.audienceSetWhereMinted ? '' : result.audience,
      source: 'the first login',
    };
    refresh = async () =>
      (await obtainCredential(plan, audience, context, httpForOneLogin(plan, context))).credential;
  }
  const provider = new TokenProvider(async () => {
    try {
      const credential = await refresh();
      log.info(`Refreshed the token; the new one expires at ${credential.expiresAt.toISOString()}.`);
      return credential;
    } catch (error) {
      // The server keeps serving a still-valid token and says nothing: this line is the only trace.
      log.warn(`Token refresh failed: ${describeFailure(error).split('\n')[0]}`);
      throw error;
    }
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
