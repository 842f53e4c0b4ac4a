import * as core from '@actions/core';
import { LoginError } from '@databricks-oidc-login/core';

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
}

function readBoolean(name: string, fallback: boolean): boolean {
  const value = core.getInput(name).trim().toLowerCase();
  if (value === '') return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new LoginError('INPUT_INVALID', `Failed to read input ${name}: "${value}" is not true or false`, {
    hint: `Set ${name} to true or false.`,
  });
}

/** Reads INPUT_* the way the runner sets them; defaults mirror action.yml. */
export function readActionInputs(env: NodeJS.ProcessEnv): ActionInputs {
  const mode = core.getInput('mode').trim() || 'token';
  if (mode !== 'token' && mode !== 'refresh') {
    throw new LoginError('INPUT_INVALID', `Failed to read input mode: "${mode}" is not supported`, {
      hint: 'Set mode to token (export DATABRICKS_TOKEN) or refresh (a local metadata service that keeps the token fresh).',
    });
  }
  const timeout = core.getInput('timeout-seconds').trim() || '30';
  const seconds = Number(timeout);
  if (!/^\d+(\.\d+)?$/.test(timeout) || seconds <= 0 || seconds > 3600) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input timeout-seconds: "${timeout}" is not a number of seconds`,
      {
        hint: 'Set timeout-seconds to a number between 1 and 3600, e.g. 30.',
      },
    );
  }
  return {
    host: core.getInput('host') || env.DATABRICKS_HOST || '',
    clientId: core.getInput('client-id') || env.DATABRICKS_CLIENT_ID || '',
    accountId: core.getInput('account-id') || env.DATABRICKS_ACCOUNT_ID || '',
    audience: core.getInput('audience'),
    provider: core.getInput('provider') || 'databricks',
    tenantId: core.getInput('tenant-id') || env.AZURE_TENANT_ID || '',
    authorityHost: core.getInput('authority-host') || env.AZURE_AUTHORITY_HOST || '',
    mode,
    verify: readBoolean('verify', true),
    exportEnv: readBoolean('export-env', true),
    timeoutMs: seconds * 1000,
  };
}
