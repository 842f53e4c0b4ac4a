import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
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
} from '@databricks-oidc-login/core';
import * as tl from 'azure-pipelines-task-lib/task.js';
import { readTaskInputs, type TaskInputs } from './inputs.ts';
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
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // in case the file existed with other permissions
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
    logFile: join(tempDirectory(), `databricks-oidc-login-${process.pid}.log`),
    source,
  });
  tl.setTaskVariable('metadataServicePid', String(service.pid));
  tl.setVariable('DATABRICKS_HOST', result.host);
  tl.setVariable('DATABRICKS_AUTH_TYPE', 'metadata-service');
  tl.setVariable('DATABRICKS_METADATA_SERVICE_URL', service.url);
  if (result.accountId) tl.setVariable('DATABRICKS_ACCOUNT_ID', result.accountId);
  console.log(
    `Started the local metadata service (pid ${service.pid}). Set for later steps: DATABRICKS_HOST, DATABRICKS_AUTH_TYPE=metadata-service, DATABRICKS_METADATA_SERVICE_URL (masked).`,
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
    const idTokenSource = azureDevOpsIdTokenSource(source.job, source.accessToken, source.connection);
    const result = await login({
      ...inputs.settings,
      verify: inputs.verify,
      idTokenSource,
      secrets,
      log: logger,
    });
    if (inputs.mode === 'refresh') await startRefreshing(inputs, result, source, secrets);
    else {
      exportToken(result);
      const left = result.credential.expiresAt.getTime() - Date.now();
      console.log(
        `Note: this token expires at ${result.credential.expiresAt.toISOString()} (in ${describeDuration(left)}). For longer steps use mode: refresh.`,
      );
    }
    tl.setVariable('host', result.host, false, true);
    tl.setVariable('expiresAt', result.credential.expiresAt.toISOString(), false, true);
    // Foreign text: never a ##vso[ inside the variable command or task-lib's debug echo of it.
    tl.setVariable('principal', safe(result.principal ?? ''), false, true);
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
