import { hostVariables, LoginError, type LoginResult } from '@databricks-oidc-login/core';
import type { EnvFormat } from './options.ts';

/** The variables `env` prints: a token for tools, and the auth type that stops SDK auth conflicts. */
export function tokenVariables(result: LoginResult): Array<[string, string]> {
  return [
    ...hostVariables(result),
    ['DATABRICKS_TOKEN', result.credential.token],
    ['DATABRICKS_AUTH_TYPE', 'pat'],
  ];
}

/**
 * PowerShell ends a single-quoted string on any of these five (its grammar's
 * single-quote-character), and reads a doubled one as that one character.
 */
const POWERSHELL_QUOTES = /['\u2018\u2019\u201a\u201b]/g;

/**
 * What a dotenv value may hold: characters that `docker --env-file` (which takes the rest of the
 * line as it is, quotes included) and `set -a; . file` (a shell assignment) both read literally.
 * No quoting can serve both readers, so anything else is refused rather than misread.
 */
const DOTENV_LITERAL = /^[A-Za-z0-9_./:@%+,=[\]~-]*$/;
/** A shell expands `~` at the start of an assignment's value and after `=` or `:`. */
const DOTENV_TILDE = /(?:^|[=:])~/;

function cannotRepresent(name: string, format: EnvFormat, why: string): LoginError {
  return new LoginError(
    'INPUT_INVALID',
    `Failed to print the variables as ${format}: the value of ${name} ${why}`,
    {
      hint:
        format === 'dotenv'
          ? 'Use --format sh (for a shell) or --format json, which can carry any value, or check the host setting.'
          : 'No environment variable can hold a NUL character: check the host setting and the token endpoint.',
    },
  );
}

/**
 * One format's lines; each value is quoted for that format's reader so that it comes back byte for
 * byte and no part of it runs as shell or PowerShell code. A value a format cannot carry is an
 * error, never a silently different value.
 */
export function formatVariables(vars: Array<[string, string]>, format: EnvFormat): string {
  // An environment cannot hold NUL (POSIX environ strings end at it): no format can deliver one.
  for (const [name, value] of vars) {
    if (value.includes('\0')) throw cannotRepresent(name, format, 'holds a NUL character');
  }
  switch (format) {
    case 'json':
      return `${JSON.stringify(Object.fromEntries(vars))}\n`;
    case 'dotenv':
      return vars
        .map(([name, value]) => {
          if (!DOTENV_LITERAL.test(value) || DOTENV_TILDE.test(value)) {
            throw cannotRepresent(
              name,
              format,
              'holds characters that docker --env-file and a shell would read differently',
            );
          }
          return `${name}=${value}\n`;
        })
        .join('');
    case 'powershell':
      return vars
        .map(([name, value]) => `$env:${name} = '${value.replace(POWERSHELL_QUOTES, '$&$&')}'\n`)
        .join('');
    case 'sh':
      return vars.map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`).join('');
  }
}
