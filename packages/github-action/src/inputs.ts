import * as core from '@actions/core';
import {
  AUTH_TYPES,
  type AuthType,
  readBooleanInput,
  readChoice,
  readProfileName,
  readServiceLifetime,
  readTimeoutSeconds,
} from '@databricks-oidc-login/core';

export type Mode = 'token' | 'refresh';

/** The action's inputs, with the documented environment fallbacks applied. */
export interface ActionInputs {
  host: string;
  clientId: string;
  accountId: string;
  workspaceId: string;
  audience: string;
  provider: string;
  tenantId: string;
  authorityHost: string;
  workloadIdentityProvider: string;
  serviceAccount: string;
  mode: Mode;
  authType: AuthType;
  /** Secrets: login() masks them first, and they reach the metadata service over IPC only. */
  clientSecret: string;
  pat: string;
  verify: boolean;
  exportEnv: boolean;
  timeoutMs: number;
  /** Mode refresh: the metadata service's safety lifetime. */
  serviceLifetimeMs: number;
  /** A config profile to write for tools that name one; undefined for none. */
  profile: string | undefined;
}

/** Reads INPUT_* the way the runner sets them; defaults mirror action.yml. */
export function readActionInputs(env: NodeJS.ProcessEnv): ActionInputs {
  return {
    host: core.getInput('host') || env.DATABRICKS_HOST || '',
    clientId: core.getInput('client-id') || env.DATABRICKS_CLIENT_ID || '',
    accountId: core.getInput('account-id') || env.DATABRICKS_ACCOUNT_ID || '',
    workspaceId: core.getInput('workspace-id') || env.DATABRICKS_WORKSPACE_ID || '',
    audience: core.getInput('audience'),
    provider: core.getInput('provider') || 'databricks',
    tenantId: core.getInput('tenant-id') || env.AZURE_TENANT_ID || '',
    authorityHost: core.getInput('authority-host') || env.AZURE_AUTHORITY_HOST || '',
    workloadIdentityProvider: core.getInput('workload-identity-provider'),
    serviceAccount: core.getInput('service-account'),
    mode: readChoice('mode', core.getInput('mode'), ['token', 'refresh'] as const, 'refresh'),
    authType: readChoice('auth-type', core.getInput('auth-type'), AUTH_TYPES, 'auto'),
    clientSecret: core.getInput('client-secret'),
    pat: core.getInput('pat'),
    verify: readBooleanInput('verify', core.getInput('verify'), true),
    exportEnv: readBooleanInput('export-env', core.getInput('export-env'), true),
    timeoutMs: readTimeoutSeconds('timeout-seconds', core.getInput('timeout-seconds')),
    serviceLifetimeMs: readServiceLifetime(
      'service-lifetime-minutes',
      core.getInput('service-lifetime-minutes'),
    ),
    profile: readProfileName('profile', core.getInput('profile')),
  };
}
