import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  azureDevOpsIdTokenSource,
  describeDuration,
  describeFailure,
  type LoginResult,
  launchMetadataService,
  login,
  neutraliseRunnerCommands,
  printableLine,
  SecretRegistry,
  writePrivateFile,
} from '@databricks-oidc-login/core';
import * as tl from 'azure-pipelines-task-lib/task.js';
import { readTaskInputs, TASK_INPUT_NAMES, type TaskInputs } from './inputs.ts';
import type { AzureDevOpsSourcePayload } from './source-payload.ts';

export const CONFIG_PROFILE = 'databricks-oidc-login';

/** Agent log lines must never carry a logging command, whatever a server or an input says. */
const safe = neutraliseRunnerCommands;
const logger = {
  info: (m: string) => console.log(safe(m)),
  warn: (m: string) => tl.warning(safe(m)),
  debug: (m: string) => tl.debug(safe(m)),
};

function tempDirectory(): string {
  return tl.getVariable('Agent.TempDirectory') || tmpdir();
}

/**
 * A 0600 config file with one profile, so a later script step works from plain variables:
 * secret variables never reach scripts, and the SDKs read the file because
 * DATABRICKS_CONFIG_PROFILE names the profile even though DATABRICKS_HOST is set.
 */
function writeConfigFile(result: LoginResult): string {
  const path = join(tempDirectory(), `databricks-oidc-login-${randomBytes(6).toString('hex')}.databrickscfg`);
  const lines = [
    `[${CONFIG_PROFILE}]`,
    `host = ${result.host}`,
    `token = ${result.credential.token}`,
    'auth_type = pat',
  ];
  if (result.accountId) lines.push(`account_id = ${result.accountId}`);
  // Created exclusively, never through a planted symlink, 0600 through its descriptor.
  writePrivateFile(path, `${lines.join('\n')}\n`);
  return path;
}

function exportToken(result: LoginResult): void {
  tl.setVariable('DATABRICKS_TOKEN', result.credential.token, true);
  tl.setVariable('DATABRICKS_HOST', result.host);
  tl.setVariable('DATABRICKS_AUTH_TYPE', 'pat');
  const configFile = writeConfigFile(result);
  tl.setTaskVariable('configFile', configFile); // the post-job handler removes it
  tl.setVariable('DATABRICKS_CONFIG_FILE', configFile);
  tl.setVariable('DATABRICKS_CONFIG_PROFILE', CONFIG_PROFILE);
  if (result.accountId) tl.setVariable('DATABRICKS_ACCOUNT_ID', result.accountId);
  console.log(
    'Set for later steps: DATABRICKS_TOKEN (secret), DATABRICKS_HOST, DATABRICKS_AUTH_TYPE=pat, DATABRICKS_CONFIG_FILE and DATABRICKS_CONFIG_PROFILE (plain; the file holds the token, mode 0600).',
  );
}

/**
 * Mode refresh: a detached local metadata service keeps handing out fresh tokens for the job.
 * Later script steps get plain variables for the SDKs and CLI, and `databricks-oidc-token` on
 * PATH; DATABRICKS_TOKEN (the first token) is a secret variable, for steps that map it.
 */
async function startRefreshing(
  inputs: TaskInputs,
  result: LoginResult,
  source: AzureDevOpsSourcePayload,
  secrets: SecretRegistry,
): Promise<void> {
  const service = await launchMetadataService({
    script: join(__dirname, 'metadata-service.js'),
    settings: { ...inputs.settings, host: result.host },
    credential: result.credential,
    audience: result.audience,
    secrets,
    logDirectory: tempDirectory(),
    source,
    clientSecret: result.authType === 'm2m' ? inputs.clientSecret : undefined,
    maxLifetimeMs: inputs.serviceLifetimeMs,
    debug: tl.getVariable('System.Debug')?.toLowerCase() === 'true',
  });
  tl.setTaskVariable('metadataServicePid', String(service.pid));
  tl.setTaskVariable('metadataServiceUrl', service.url, true);
  if (service.logFile) tl.setTaskVariable('metadataServiceLog', service.logFile);
  tl.setVariable('DATABRICKS_TOKEN', result.credential.token, true);
  tl.setVariable('DATABRICKS_HOST', result.host);
  tl.setVariable('DATABRICKS_AUTH_TYPE', 'metadata-service');
  tl.setVariable('DATABRICKS_METADATA_SERVICE_URL', service.url);
  if (result.accountId) tl.setVariable('DATABRICKS_ACCOUNT_ID', result.accountId);
  const commandDir = join(__dirname, 'bin');
  try {
    chmodSync(join(commandDir, 'databricks-oidc-token'), 0o755); // zip packaging may drop the bit
  } catch {
    // Windows: the .cmd next to it needs no bit
  }
  tl.prependPath(commandDir);
  console.log(
    `Started the local metadata service (pid ${service.pid}); it refreshes the token until the end of the job (at most ${describeDuration(inputs.serviceLifetimeMs)}). ` +
      `Set for later steps: DATABRICKS_HOST, DATABRICKS_AUTH_TYPE=metadata-service, DATABRICKS_METADATA_SERVICE_URL (masked), DATABRICKS_TOKEN (secret: the first token only)${result.accountId ? ', DATABRICKS_ACCOUNT_ID' : ''}; ` +
      'and on PATH: databricks-oidc-token, which prints a fresh token.',
  );
}

/** The task: inputs and endpoints, login, then secret and plain variables and outputs. */
async function run(): Promise<void> {
  const secrets = new SecretRegistry((secret) => tl.setSecret(secret));
  try {
    const inputs = readTaskInputs();
    secrets.register(inputs.accessToken);
    const connection = inputs.tokenSource === 'serviceConnection' ? inputs.connection : undefined;
    const source: AzureDevOpsSourcePayload = { job: inputs.job, accessToken: inputs.accessToken, connection };
    const result = await login({
      ...inputs.settings,
      // Account APIs that create Google Cloud resources also need the service account's access token.
      googleAccessToken: inputs.settings.provider === 'google' && Boolean(inputs.settings.accountId),
      authType: inputs.authType,
      clientSecret: inputs.clientSecret,
      pat: inputs.pat,
      inputNames: TASK_INPUT_NAMES,
      verify: inputs.verify,
      // Built only if authType needs it: without a job token, auto falls back.
      idTokenSource: () => azureDevOpsIdTokenSource(source.job, source.accessToken, source.connection),
      secrets,
      log: logger,
    });
    // Nothing refreshes a PAT: it is set as it is, whatever mode says.
    const refresh = inputs.mode === 'refresh' && result.authType !== 'pat';
    if (inputs.mode === 'refresh' && !refresh)
      console.log(
        'authType pat: mode refresh does not apply; DATABRICKS_TOKEN is the personal access token.',
      );
    if (refresh) await startRefreshing(inputs, result, source, secrets);
    else {
      exportToken(result);
      const left = result.credential.expiresAt.getTime() - Date.now();
      if (result.authType !== 'pat')
        console.log(
          `Note: this token expires at ${result.credential.expiresAt.toISOString()} (in ${describeDuration(left)}). For longer steps use mode: refresh.`,
        );
    }
    tl.setVariable('host', result.host, false, true);
    // A PAT's expiry is not known.
    const expiresAt = result.authType === 'pat' ? '' : result.credential.expiresAt.toISOString();
    tl.setVariable('expiresAt', expiresAt, false, true);
    // Foreign text: never a ##vso[ inside the variable command or task-lib's debug echo of it.
    tl.setVariable('principal', safe(result.principal ?? ''), false, true);
    if (result.googleAccessToken) {
      tl.setVariable('googleAccessToken', result.googleAccessToken.token, true, true);
      console.log(
        `Set the secret output variable googleAccessToken, for X-Databricks-GCP-SA-Access-Token; it expires at ${result.googleAccessToken.expiresAt.toISOString()} and is not refreshed.`,
      );
    }
    tl.setVariable('authType', result.authType, false, true);
    tl.setResult(
      tl.TaskResult.Succeeded,
      safe(`Logged in to ${result.host}${result.principal ? ` as ${printableLine(result.principal)}` : ''}.`),
    );
  } catch (error) {
    if (error instanceof Error && error.stack) tl.debug(safe(secrets.redact(error.stack)));
    tl.setResult(tl.TaskResult.Failed, safe(secrets.redact(describeFailure(error))));
  }
}

void run();
