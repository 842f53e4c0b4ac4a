import { parseArgs } from 'node:util';
import {
  type AuthType,
  readTimeoutSeconds,
  TOKEN_SOURCE_NAMES,
  type WorkloadSettings,
} from '@databricks-oidc-login/core';

export const COMMANDS = ['env', 'exec', 'serve', 'token', 'explain'] as const;
export type Command = (typeof COMMANDS)[number];

/** Bad usage: exit 2 with one line that says what to change. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: Command | undefined,
  ) {
    super(message);
  }
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/** Options every command takes, named like the GitHub inputs (environment fallbacks in the core). */
const COMMON: Record<string, OptionSpec> = {
  host: { type: 'string' },
  'client-id': { type: 'string' },
  'account-id': { type: 'string' },
  audience: { type: 'string' },
  provider: { type: 'string' },
  'tenant-id': { type: 'string' },
  'authority-host': { type: 'string' },
  'auth-type': { type: 'string' },
  'token-source': { type: 'string' },
  'token-env': { type: 'string' },
  'token-file': { type: 'string' },
  'k8s-service-account': { type: 'string' },
  'k8s-sa-dir': { type: 'string' },
  'service-account': { type: 'string' },
  'workload-identity-provider': { type: 'string' },
  'timeout-seconds': { type: 'string' },
  'no-verify': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
};

const PER_COMMAND: Record<Command, Record<string, OptionSpec>> = {
  env: { format: { type: 'string' } },
  exec: { 'pass-env': { type: 'string', multiple: true } },
  serve: { port: { type: 'string' }, 'url-file': { type: 'string' } },
  token: { json: { type: 'boolean' }, 'google-access-token': { type: 'boolean' } },
  explain: {},
};

export const ENV_FORMATS = ['sh', 'powershell', 'dotenv', 'json'] as const;
export type EnvFormat = (typeof ENV_FORMATS)[number];
const AUTH_TYPES: readonly AuthType[] = ['auto', 'oidc', 'm2m', 'pat'];
const PROVIDERS = ['databricks', 'azure', 'google'] as const;

export interface CliInvocation {
  command: Command | undefined;
  help: boolean;
  quiet: boolean;
  settings: WorkloadSettings;
  format: EnvFormat;
  json: boolean;
  /** token: print the Google access token (provider google) instead of the Databricks token. */
  googleAccessToken: boolean;
  port: number | undefined;
  urlFile: string | undefined;
  /** exec: the command and its arguments, after `--`. */
  commandLine: string[];
  /** exec --pass-env: credential inputs the command keeps. */
  passEnv: string[];
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  command: Command,
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} "${value}" is not one of ${allowed.join(', ')}`, command);
}

/** Reads argv (without node and the script). Throws UsageError for anything it cannot use. */
export function parseCommandLine(argv: string[]): CliInvocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !(COMMANDS as readonly string[]).includes(topic)) {
      throw new UsageError(`unknown command "${topic}"; the commands are ${COMMANDS.join(', ')}`);
    }
    return { ...empty(), command: topic as Command | undefined, help: true };
  }
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`unknown command "${first}"; the commands are ${COMMANDS.join(', ')}`);
  }
  const command = first as Command;
  const dashes = rest.indexOf('--');
  const own = dashes >= 0 ? rest.slice(0, dashes) : rest;
  const commandLine = dashes >= 0 ? rest.slice(dashes + 1) : [];
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: own,
      options: { ...COMMON, ...PER_COMMAND[command] },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    // Node's messages name the option: "Unknown option '--hots'", "Option '--host <value>' argument missing".
    const text =
      (error as Error).message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '') ?? 'bad option';
    throw new UsageError(text.replace(/\.$/, ''), command);
  }
  const help = values.help === true;
  if (!help) {
    if (command === 'exec' && commandLine.length === 0) {
      throw new UsageError('exec needs a command after --, e.g. exec -- databricks bundle deploy', command);
    }
    if (positionals.length > 0) {
      throw new UsageError(
        command === 'exec'
          ? `put the command after --: exec [options] -- ${positionals.join(' ')}`
          : `unexpected argument "${positionals[0]}"`,
        command,
      );
    }
    if (command !== 'exec' && dashes >= 0)
      throw new UsageError(`${command} takes no command after --`, command);
  }
  const str = (name: string) => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const passEnv = (Array.isArray(values['pass-env']) ? values['pass-env'] : []).map(String);
  for (const name of passEnv) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(`--pass-env "${name}" is not a variable name`, command);
    }
  }
  let port: number | undefined;
  const rawPort = str('port');
  if (rawPort !== undefined) {
    port = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) {
      throw new UsageError(`--port "${rawPort}" is not a port number (1-65535)`, command);
    }
  }
  let timeoutMs: number | undefined;
  const rawTimeout = str('timeout-seconds');
  if (rawTimeout !== undefined) {
    try {
      timeoutMs = readTimeoutSeconds('--timeout-seconds', rawTimeout);
    } catch {
      throw new UsageError(
        `--timeout-seconds "${rawTimeout}" is not a number of seconds between 1 and 3600`,
        command,
      );
    }
  }
  return {
    command,
    help,
    quiet: values.quiet === true,
    format: oneOf('--format', str('format'), ENV_FORMATS, command) ?? 'sh',
    json: values.json === true,
    googleAccessToken: values['google-access-token'] === true,
    port,
    urlFile: str('url-file'),
    commandLine,
    passEnv,
    settings: {
      host: str('host'),
      clientId: str('client-id'),
      accountId: str('account-id'),
      audience: str('audience'),
      provider: oneOf('--provider', str('provider'), PROVIDERS, command),
      tenantId: str('tenant-id'),
      authorityHost: str('authority-host'),
      authType: oneOf('--auth-type', str('auth-type'), AUTH_TYPES, command),
      tokenSource: oneOf('--token-source', str('token-source'), TOKEN_SOURCE_NAMES, command),
      tokenEnv: str('token-env'),
      tokenFile: str('token-file'),
      k8sServiceAccount: str('k8s-service-account'),
      k8sServiceAccountDir: str('k8s-sa-dir'),
      serviceAccount: str('service-account'),
      workloadIdentityProvider: str('workload-identity-provider'),
      verify: values['no-verify'] === true ? false : undefined,
      timeoutMs,
    },
  };
}

function empty(): CliInvocation {
  return {
    command: undefined,
    help: false,
    quiet: false,
    settings: {},
    format: 'sh',
    json: false,
    googleAccessToken: false,
    port: undefined,
    urlFile: undefined,
    commandLine: [],
    passEnv: [],
  };
}
