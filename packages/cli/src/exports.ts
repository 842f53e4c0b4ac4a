import { hostVariables, type LoginResult } from '@databricks-oidc-login/core';
import type { EnvFormat } from './options.ts';

/** The variables `env` prints: a token for tools, and the auth type that stops SDK auth conflicts. */
export function tokenVariables(result: LoginResult): Array<[string, string]> {
  return [
    ...hostVariables(result),
    ['DATABRICKS_TOKEN', result.credential.token],
    ['DATABRICKS_AUTH_TYPE', 'pat'],
  ];
}

/** One format's lines; values are quoted so no value can run as shell or PowerShell code. */
export function formatVariables(vars: Array<[string, string]>, format: EnvFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(Object.fromEntries(vars))}\n`;
    case 'dotenv':
      return vars.map(([name, value]) => `${name}=${value}\n`).join('');
    case 'powershell':
      return vars.map(([name, value]) => `$env:${name} = '${value.replace(/'/g, "''")}'\n`).join('');
    case 'sh':
      return vars.map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`).join('');
  }
}
