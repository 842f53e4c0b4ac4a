import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  describeDuration,
  describeFailure,
  hostVariables,
  type Logger,
  LoginError,
  login,
  loginAndServe,
  neutraliseRunnerCommands,
  RELEASE_VERSION,
  redactingLogger,
  replaceWithPrivateFile,
  SecretRegistry,
  setUpWorkloadLogin,
  type WorkloadLogin,
  writeConfigProfile,
} from '@databricks-oidc-login/core';
import { commandEnvironment, passEnvWarnings } from './child-environment.ts';
import { explainIdToken } from './explain.ts';
import { formatVariables, tokenVariables } from './exports.ts';
import { helpText } from './help.ts';
import { type CliInvocation, parseCommandLine, UsageError } from './options.ts';
import { runCommand } from './run-command.ts';

const TOOL = 'databricks-oidc-login';
const VERSION = RELEASE_VERSION;
/** exec and serve run in the foreground and end with their owner, so no safety limit of their own. */
const FOREGROUND_LIFETIME_MS = 2 ** 31 - 1;

/**
 * One line for people, on stderr. In a GitHub `run:` or Azure DevOps `script:` step the runner
 * reads both streams for commands, and these lines carry server and input text: none of it may
 * become one.
 */
function say(text: string): void {
  process.stderr.write(`${neutraliseRunnerCommands(text)}\n`);
}

/** Messages for people go to stderr; stdout is only for what the command promises. */
function stderrLogger(quiet: boolean): Logger {
  const write = say;
  return {
    info: (m) => {
      if (!quiet) write(m);
    },
    warn: (m) => write(`warning: ${m}`),
    debug: (m) => {
      if (process.env.DATABRICKS_OIDC_LOGIN_DEBUG) write(`debug: ${m}`);
    },
  };
}

/** Secrets this process may hold before it has any token: never printed, even by mistake. */
function registerEnvironmentSecrets(secrets: SecretRegistry, env: NodeJS.ProcessEnv): void {
  for (const name of [
    'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    'SYSTEM_ACCESSTOKEN',
    'DATABRICKS_CLIENT_SECRET',
    'DATABRICKS_TOKEN',
    'BUILDKITE_AGENT_ACCESS_TOKEN',
    'DATABRICKS_OIDC_TOKEN',
  ]) {
    secrets.register(env[name]?.trim());
  }
}

/** How the tool spells the credential settings, for the core's messages. */
const CLI_INPUT_NAMES = {
  authType: '--auth-type',
  clientId: '--client-id',
  clientSecret: 'DATABRICKS_CLIENT_SECRET',
  pat: 'DATABRICKS_TOKEN',
  workspaceId: '--workspace-id',
};

function loginOptions(setup: WorkloadLogin, secrets: SecretRegistry, log: Logger) {
  return { ...setup.options, inputNames: CLI_INPUT_NAMES, secrets, log };
}

async function exec(
  inv: CliInvocation,
  setup: WorkloadLogin,
  secrets: SecretRegistry,
  log: Logger,
): Promise<number> {
  const profile = inv.profile;
  const drop = {
    tokenEnv: inv.settings.tokenEnv?.trim() || process.env.DATABRICKS_OIDC_TOKEN_ENV?.trim(),
    passEnv: inv.passEnv,
  };
  for (const warning of passEnvWarnings(drop)) log.warn(warning);
  const { result, server } = await loginAndServe({
    ...loginOptions(setup, secrets, log),
    maxLifetimeMs: FOREGROUND_LIFETIME_MS,
  });
  const service: Record<string, string> = {
    ...Object.fromEntries(hostVariables(result)),
    DATABRICKS_AUTH_TYPE: 'metadata-service',
    DATABRICKS_METADATA_SERVICE_URL: server.url,
    DATABRICKS_TOKEN: result.credential.token,
  };
  // A private folder for the profile, removed with it when the command ends.
  const profileDir = profile ? mkdtempSync(join(tmpdir(), 'databricks-oidc-login-')) : undefined;
  if (profile && profileDir) {
    service.DATABRICKS_CONFIG_FILE = writeConfigProfile(profileDir, profile, result, {
      kind: 'metadata-service',
      url: server.url,
    });
    log.info(
      `Wrote profile ${profile} (metadata service) to DATABRICKS_CONFIG_FILE, for databricks --profile ${profile}.`,
    );
  }
  // Least privilege: the command gets a fresh token, not the secrets we logged in with.
  const env = commandEnvironment(process.env, service, drop);
  log.info(
    `Running ${JSON.stringify(inv.commandLine[0])} with a token that stays fresh (DATABRICKS_AUTH_TYPE=metadata-service).`,
  );
  try {
    const outcome = await runCommand(inv.commandLine, env);
    if (outcome.startError) {
      say(`${TOOL}: cannot run ${JSON.stringify(inv.commandLine[0])}: ${outcome.startError}`);
    }
    return outcome.exitCode;
  } finally {
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await server.close();
  }
}

async function serve(
  inv: CliInvocation,
  setup: WorkloadLogin,
  secrets: SecretRegistry,
  log: Logger,
): Promise<number> {
  // Listen first: a SIGTERM that arrives while logging in still means a clean stop (exit 0).
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const { result, server } = await loginAndServe({
    ...loginOptions(setup, secrets, log),
    port: inv.port,
    maxLifetimeMs: FOREGROUND_LIFETIME_MS,
  }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
    throw new LoginError('INPUT_INVALID', `Failed to serve on 127.0.0.1:${inv.port}: ${code}`, {
      hint: 'Pick a free --port, or leave it out for any free port.',
    });
  });
  if (inv.urlFile) {
    try {
      // Never by path: in a folder without the sticky bit (an emptyDir) another user could swap
      // the file for a symlink between our write and a chmod.
      replaceWithPrivateFile(inv.urlFile, `${server.url}\n`);
    } catch (error) {
      await server.close();
      throw new LoginError(
        'INPUT_INVALID',
        `Failed to write --url-file ${inv.urlFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        {
          hint: 'Point --url-file at a writable folder, e.g. an emptyDir volume shared with the app container.',
        },
      );
    }
    log.info(`Wrote the metadata service URL to ${inv.urlFile} (0600).`);
  } else {
    process.stdout.write(`${server.url}\n`);
  }
  log.info(
    `Serving fresh tokens for ${result.host} until stopped. Clients set DATABRICKS_HOST=${result.host}, DATABRICKS_AUTH_TYPE=metadata-service and DATABRICKS_METADATA_SERVICE_URL.`,
  );
  await stopped;
  log.info('Stopping the metadata service.');
  await server.close();
  if (inv.urlFile) rmSync(inv.urlFile, { force: true });
  return 0;
}

async function runCommandLine(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const inv = parseCommandLine(argv);
  if (inv.help || !inv.command) {
    process.stdout.write(helpText(inv.command));
    return 0;
  }
  const secrets = new SecretRegistry();
  registerEnvironmentSecrets(secrets, env);
  const log = redactingLogger(stderrLogger(inv.quiet), secrets);
  try {
    const setup = setUpWorkloadLogin(inv.settings, env);
    if (setup.chosen) log.info(`Token source: ${setup.chosen.source.description} (${setup.chosen.reason}).`);
    if (setup.chosen?.azure && !inv.settings.provider) {
      log.info(
        'Azure Workload Identity: using provider azure (Entra ID) with AZURE_CLIENT_ID and AZURE_TENANT_ID.',
      );
    }
    switch (inv.command) {
      case 'explain': {
        const lines = await explainIdToken(setup, secrets, log);
        // The report is for people too, and quotes the token's claims.
        const report = lines.map((l) => neutraliseRunnerCommands(secrets.redact(l)));
        process.stdout.write(`${report.join('\n')}\n`);
        return 0;
      }
      case 'exec':
        return await exec(inv, setup, secrets, log);
      case 'serve':
        return await serve(inv, setup, secrets, log);
      case 'env':
      case 'token': {
        const profile = inv.command === 'env' ? inv.profile : undefined;
        if (inv.googleAccessToken && setup.options.provider !== 'google') {
          throw new LoginError(
            'INPUT_INVALID',
            'Failed to read the options: --google-access-token needs --provider google',
            { hint: 'Add --provider google with --workload-identity-provider and --service-account.' },
          );
        }
        const result = await login({
          ...loginOptions(setup, secrets, log),
          googleAccessToken: inv.googleAccessToken,
        });
        // The Google access token for X-Databricks-GCP-SA-Access-Token, instead of the Databricks one.
        const credential = inv.googleAccessToken ? result.googleAccessToken : result.credential;
        if (!credential) throw new Error('the login returned no Google access token');
        const expiresAt = result.authType === 'pat' && !inv.googleAccessToken ? null : credential.expiresAt;
        if (expiresAt) {
          const left = expiresAt.getTime() - Date.now();
          log.info(
            `The token expires at ${expiresAt.toISOString()} (in ${describeDuration(left)}); for longer commands use exec.`,
          );
        }
        // Printed raw: every token a reader accepts is token-shaped (letters, digits, `.~+/=-_`),
        // so it can start no runner command, carry no terminal escape and break out of no quoting.
        if (inv.command === 'env') {
          const vars = tokenVariables(result);
          if (profile) {
            const path = writeConfigProfile(env.RUNNER_TEMP || tmpdir(), profile, result, {
              kind: 'token',
              token: result.credential.token,
            });
            vars.push(['DATABRICKS_CONFIG_FILE', path]);
            log.info(
              `Wrote profile ${profile} (this token; mode 0600) to ${path}, for databricks --profile ${profile}; remove it when the job ends.`,
            );
          }
          process.stdout.write(formatVariables(vars, inv.format));
        } else if (inv.json) {
          process.stdout.write(
            `${JSON.stringify({ access_token: credential.token, expires_at: expiresAt ? expiresAt.toISOString() : null })}\n`,
          );
        } else {
          process.stdout.write(`${credential.token}\n`);
        }
        return 0;
      }
    }
  } catch (error) {
    if (env.DATABRICKS_OIDC_LOGIN_DEBUG && error instanceof Error && error.stack) {
      say(secrets.redact(error.stack));
    }
    say(secrets.redact(describeFailure(error)));
    return 1;
  }
}

/** The tool's entry: exit 2 with one line for bad usage, 1 for a failed login. */
export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  let code: number;
  try {
    code = await runCommandLine(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(
      `${TOOL}: ${error.message.replace(/\.$/, '')}. See '${TOOL} ${error.command ? `${error.command} ` : ''}--help'.`,
    );
    code = 2;
  }
  // Exit at once: nothing of ours is left running, and a child's pipes must not keep us here.
  process.stdout.write('', () => process.exit(code));
}

void main();
