import { parseArgs } from 'node:util';
import {
  type AuthType,
  isTenantId,
  LoginError,
  normalizeAuthority,
  normalizeHost,
  normalizeUuid,
  readProfileName,
  readTimeoutSeconds,
  readWorkspaceId,
  TOKEN_SOURCE_NAMES,
  type WorkloadSettings,
} from '@databricks-oidc-login/core';
import { didYouMean } from './suggest.ts';

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
  'workspace-id': { type: 'string' },
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
  env: { format: { type: 'string' }, profile: { type: 'string' } },
  exec: { profile: { type: 'string' }, 'pass-env': { type: 'string', multiple: true } },
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
  /** env and exec: also write a config file with a profile of this name. */
  profile: string | undefined;
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
  throw new UsageError(
    `${flag} "${value}" is not one of ${allowed.join(', ')}${didYouMean(value, allowed)}`,
    command,
  );
}

function unknownCommand(name: string): UsageError {
  return new UsageError(
    `unknown command "${name}"${didYouMean(name, COMMANDS)}; the commands are ${COMMANDS.join(', ')}`,
  );
}

/**
 * Checks of option values that can be judged without the environment: a malformed value given on
 * the command line is bad usage (exit 2, one line), not a failed login. The core's own checks
 * do the judging, so the CLI and the core cannot disagree on what is valid.
 */
const VALUE_CHECKS: Record<string, (flag: string, value: string) => void> = {
  host: (flag, value) => void normalizeHost(value, flag),
  'authority-host': (flag, value) => void normalizeAuthority(value, flag),
  'client-id': (flag, value) => void normalizeUuid(flag, value),
  'account-id': (flag, value) => void normalizeUuid(flag, value),
  'workspace-id': (flag, value) => void readWorkspaceId(flag, value),
  profile: (flag, value) => void readProfileName(flag, value),
  'tenant-id': (flag, value) => {
    if (!isTenantId(value.trim()))
      throw new UsageError(`${flag} "${value}" is not a tenant ID (a GUID) or a domain`);
  },
};

/** A core validation error as one usage line: what is wrong with the value, and what to do. */
function usageFromCheck(error: unknown, command: Command): UsageError {
  if (error instanceof UsageError) return new UsageError(error.message, command);
  if (!(error instanceof LoginError)) throw error;
  const what = error.message.replace(/^Failed to (?:read|use) (?:input |the Databricks )?/, '');
  return new UsageError(`${what}. ${error.hint.replace(/\.$/, '')}`, command);
}

/** Node's parseArgs errors, reworded to name the option and, for a typo, the one meant. */
function usageFromParseError(error: Error, command: Command, known: string[]): UsageError {
  const unknown = /^Unknown option '(-{1,2}[^']*)'/.exec(error.message);
  if (unknown?.[1]) {
    const typed = unknown[1];
    const elsewhere = COMMANDS.filter(
      (c) => c !== command && Object.hasOwn(PER_COMMAND[c], typed.replace(/^-+/, '')),
    );
    if (elsewhere.length > 0)
      return new UsageError(
        `${typed} is an option of ${elsewhere.join(' and ')}, not of ${command}`,
        command,
      );
    return new UsageError(
      `unknown option ${typed}${didYouMean(typed.replace(/^-+/, ''), known, '--')}`,
      command,
    );
  }
  const noValue = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(error.message);
  if (noValue?.[1]) return new UsageError(`${noValue[1]} takes no value`, command);
  const text = error.message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '') ?? 'bad option';
  return new UsageError(text.replace(/\.$/, ''), command);
}

/**
 * Joins a string option with a value that starts with "-" (`--timeout-seconds -5`) as
 * `--timeout-seconds=-5`, so the value's own check judges it instead of parseArgs calling it
 * ambiguous. A missing value (the end, or an option such as `--` or `--quiet` next) is named here.
 */
function attachDashValues(args: string[], options: Record<string, OptionSpec>, command: Command): string[] {
  const flags = new Set(
    Object.entries(options).flatMap(([name, spec]) => [
      `--${name}`,
      ...(spec.short ? [`-${spec.short}`] : []),
    ]),
  );
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name === undefined || options[name]?.type !== 'string') {
      out.push(arg);
      continue;
    }
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--') || flags.has(next))
      throw new UsageError(`--${name} needs a value`, command);
    out.push(next.startsWith('-') ? `${arg}=${next}` : arg, ...(next.startsWith('-') ? [] : [next]));
    i++;
  }
  return out;
}

/** Reads argv (without node and the script). Throws UsageError for anything it cannot use. */
export function parseCommandLine(argv: string[]): CliInvocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !(COMMANDS as readonly string[]).includes(topic)) throw unknownCommand(topic);
    return { ...empty(), command: topic as Command | undefined, help: true };
  }
  if (!(COMMANDS as readonly string[]).includes(first)) throw unknownCommand(first);
  const command = first as Command;
  const dashes = rest.indexOf('--');
  const own = dashes >= 0 ? rest.slice(0, dashes) : rest;
  const commandLine = dashes >= 0 ? rest.slice(dashes + 1) : [];
  const options = { ...COMMON, ...PER_COMMAND[command] };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: attachDashValues(own, options, command),
      options,
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw usageFromParseError(error as Error, command, Object.keys(options));
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
  for (const [name, check] of Object.entries(VALUE_CHECKS)) {
    const value = str(name);
    // An empty value means "use the environment variable", as it does in the core.
    if (!value?.trim() || help) continue;
    try {
      check(`--${name}`, value);
    } catch (error) {
      throw usageFromCheck(error, command);
    }
  }
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
    profile: str('profile')?.trim() || undefined,
    commandLine,
    passEnv,
    settings: {
      host: str('host'),
      clientId: str('client-id'),
      accountId: str('account-id'),
      workspaceId: str('workspace-id'),
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
    profile: undefined,
    commandLine: [],
    passEnv: [],
  };
}
