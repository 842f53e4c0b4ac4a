import type { AuthType, LoginOptions } from '../login-plan.ts';
import { LoginError } from '../safe-output/errors.ts';
import {
  type ChosenSource,
  chooseIdTokenSource,
  type TokenSourceSettings,
} from '../sources/choose-source.ts';
import type { IdTokenSource } from '../sources/id-token-source.ts';

/**
 * The options of the command-line tool and the library, named like the GitHub inputs. Each
 * falls back to its documented environment variable when undefined.
 */
export interface WorkloadSettings extends TokenSourceSettings {
  /** DATABRICKS_HOST */
  host?: string | undefined;
  /** DATABRICKS_CLIENT_ID; with provider azure from Azure Workload Identity, AZURE_CLIENT_ID first. */
  clientId?: string | undefined;
  /** DATABRICKS_ACCOUNT_ID */
  accountId?: string | undefined;
  /** DATABRICKS_WORKSPACE_ID: the workspace on a unified host (also read from the host's ?w=). */
  workspaceId?: string | undefined;
  /** DATABRICKS_TOKEN_AUDIENCE */
  audience?: string | undefined;
  /** databricks (default), azure (default for azure-workload-identity) or google. */
  provider?: string | undefined;
  /** AZURE_TENANT_ID */
  tenantId?: string | undefined;
  /** AZURE_AUTHORITY_HOST */
  authorityHost?: string | undefined;
  authType?: AuthType | undefined;
  /** DATABRICKS_CLIENT_SECRET */
  clientSecret?: string | undefined;
  /** DATABRICKS_TOKEN: a personal access token, the last resort of auth type auto. */
  pat?: string | undefined;
  workloadIdentityProvider?: string | undefined;
  serviceAccount?: string | undefined;
  verify?: boolean | undefined;
  timeoutMs?: number | undefined;
}

/** What a login needs besides the per-run secrets and log, and the token source chosen. */
export interface WorkloadLogin {
  options: Omit<LoginOptions, 'secrets' | 'log'>;
  /** The detected token source; undefined when none was detected and auth type auto may fall back. */
  chosen: ChosenSource | undefined;
  /** Why no token source was detected (explain reports it). */
  unavailable?: LoginError | undefined;
}

const blank = (value: string | undefined) => (value?.trim() ? value : undefined);

/**
 * Applies the environment fallbacks, picks the token source, and lets the source imply its
 * settings: Azure Workload Identity means provider azure with the webhook's client, tenant and
 * authority, unless told otherwise.
 */
export function setUpWorkloadLogin(
  settings: WorkloadSettings,
  env: NodeJS.ProcessEnv = process.env,
  /** A caller's own source (library users): no detection then. */
  ownSource?: IdTokenSource,
): WorkloadLogin {
  let chosen: ChosenSource | undefined;
  let unavailable: LoginError | undefined;
  try {
    chosen = ownSource
      ? { name: 'custom', source: ownSource, reason: 'given by the caller' }
      : chooseIdTokenSource({
          ...settings,
          tokenEnv: blank(settings.tokenEnv) ?? blank(env.DATABRICKS_OIDC_TOKEN_ENV),
          tokenFile: blank(settings.tokenFile) ?? blank(env.DATABRICKS_OIDC_TOKEN_FILEPATH),
          env,
        });
  } catch (error) {
    // Only auto-detection finding nothing may fall back (auth type auto, to M2M or a PAT): a named
    // source that lacks its prerequisite, or auth type oidc, fails here, before any request.
    const detecting = !settings.tokenSource || settings.tokenSource === 'auto';
    if (!(error instanceof LoginError && error.code === 'ID_TOKEN_UNAVAILABLE' && detecting)) throw error;
    if (settings.authType === 'oidc') throw error;
    unavailable = error;
  }
  const azure = chosen?.azure;
  const provider = blank(settings.provider) ?? (azure ? 'azure' : undefined);
  const viaWebhook = azure && provider === 'azure' ? azure : undefined;
  const source = chosen?.source;
  return {
    chosen,
    unavailable,
    options: {
      host: blank(settings.host) ?? env.DATABRICKS_HOST,
      clientId: blank(settings.clientId) ?? viaWebhook?.clientId ?? env.DATABRICKS_CLIENT_ID,
      accountId: blank(settings.accountId) ?? env.DATABRICKS_ACCOUNT_ID,
      workspaceId: blank(settings.workspaceId) ?? blank(env.DATABRICKS_WORKSPACE_ID),
      audience: blank(settings.audience) ?? env.DATABRICKS_TOKEN_AUDIENCE,
      provider,
      tenantId: blank(settings.tenantId) ?? viaWebhook?.tenantId ?? env.AZURE_TENANT_ID,
      authorityHost: blank(settings.authorityHost) ?? viaWebhook?.authorityHost ?? env.AZURE_AUTHORITY_HOST,
      authType: settings.authType,
      clientSecret: blank(settings.clientSecret) ?? env.DATABRICKS_CLIENT_SECRET,
      pat: blank(settings.pat) ?? env.DATABRICKS_TOKEN,
      workloadIdentityProvider: settings.workloadIdentityProvider,
      serviceAccount: settings.serviceAccount,
      verify: settings.verify,
      timeoutMs: settings.timeoutMs,
      // Built lazily: without a source, login() falls back (auth type auto) or explains why not.
      idTokenSource: () => {
        if (source) return source;
        throw unavailable;
      },
    },
  };
}
