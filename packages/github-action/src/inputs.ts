import * as core from '@actions/core';
import {
  readBooleanInput,
  readChoice,
  readServiceLifetime,
  readTimeoutSeconds,
} from '@databricks-oidc-login/core';

export type Mode = 'token' | 'refresh';

/** The action's inputs, with the documented environment fallbacks applied. */
export interface ActionInputs {
  host: string;
  clientId: string;
  accountId: string;
  audience: string;
  provider: string;
  tenantId: string;
  authorityHost: string;
  mode: Mode;
  verify: boolean;
  exportEnv: boolean;
  timeoutMs: number;
  /** Mode refresh: the metadata service's safety lifetime. */
  serviceLifetimeMs: number;
}

/** Reads INPUT_* the way the runner sets them; defaults mirror action.yml. */
export function readActionInputs(env: NodeJS.ProcessEnv): ActionInputs {
  return {
    host: core.getInput('host') || env.DATABRICKS_HOST || '',
    clientId: core.getInput('client-id') || env.DATABRICKS_CLIENT_ID || '',
    accountId: core.getInput('account-id') || env.DATABRICKS_ACCOUNT_ID || '',
    audience: core.getInput('audience'),
    provider: core.getInput('provider') || 'databricks',
    tenantId: core.getInput('tenant-id') || env.AZURE_TENANT_ID || '',
    authorityHost: core.getInput('authority-host') || env.AZURE_AUTHORITY_HOST || '',
    mode: readChoice('mode', core.getInput('mode'), ['token', 'refresh'] as const, 'refresh'),
    verify: readBooleanInput('verify', core.getInput('verify'), true),
    exportEnv: readBooleanInput('export-env', core.getInput('export-env'), true),
    timeoutMs: readTimeoutSeconds('timeout-seconds', core.getInput('timeout-seconds')),
    serviceLifetimeMs: readServiceLifetime(
      'service-lifetime-minutes',
      core.getInput('service-lifetime-minutes'),
    ),
  };
}
