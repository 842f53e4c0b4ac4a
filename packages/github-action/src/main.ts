import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import {
  describeDuration,
  describeFailure,
  githubIdTokenSource,
  type LoginResult,
  launchMetadataService,
  login,
  neutraliseRunnerCommands,
  printableLine,
  SecretRegistry,
} from '@databricks-oidc-login/core';
import { type ActionInputs, readActionInputs } from './inputs.ts';

/** Every line the core logs may carry server or input text: none of it may start a workflow command. */
const safe = neutraliseRunnerCommands;
const logger = {
  info: (m: string) => core.info(safe(m)),
  warn: (m: string) => core.warning(safe(m)),
  debug: (m: string) => core.debug(safe(m)),
};

/** A summary cell from foreign text: one line, no markup. */
function escapeHtml(text: string): string {
  return printableLine(text, 300)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** A short table for the job summary: never a token. */
async function writeSummary(result: LoginResult): Promise<void> {
  const path = process.env.GITHUB_STEP_SUMMARY;
  if (!path) return;
  const row = (name: string, value: string) => [{ data: name, header: true }, escapeHtml(value)];
  const html = core.summary
    .addHeading('Databricks OIDC login', 3)
    .addTable([
      row('Host', result.host),
      row('Principal', result.principal ?? '(not verified)'),
      row('Subject', result.claims.sub),
      row('Expires', result.credential.expiresAt.toISOString()),
    ])
    .stringify();
  core.summary.emptyBuffer();
  // Written synchronously, as summary.write() would append it: its promise-based fs would start
  // libuv's thread pool for one small append.
  appendFileSync(path, `${html}${EOL}`);
}

function exportToken(inputs: ActionInputs, result: LoginResult): void {
  if (!inputs.exportEnv) {
    core.info('export-env is false: nothing exported; use the step outputs.');
    return;
  }
  core.exportVariable('DATABRICKS_HOST', result.host);
  core.exportVariable('DATABRICKS_TOKEN', result.credential.token);
  // Stops the SDKs' "more than one authorization method configured" when DATABRICKS_CLIENT_ID is also set.
  core.exportVariable('DATABRICKS_AUTH_TYPE', 'pat');
  if (result.accountId) core.exportVariable('DATABRICKS_ACCOUNT_ID', result.accountId);
  const names = [
    'DATABRICKS_HOST',
    'DATABRICKS_TOKEN',
    'DATABRICKS_AUTH_TYPE',
    result.accountId && 'DATABRICKS_ACCOUNT_ID',
  ];
  core.info(`Exported for later steps: ${names.filter(Boolean).join(', ')}.`);
}

/** Mode refresh: a detached local metadata service keeps handing out fresh tokens for the job. */
async function startRefreshing(
  inputs: ActionInputs,
  result: LoginResult,
  secrets: SecretRegistry,
): Promise<void> {
  const logFile = process.env.RUNNER_TEMP
    ? join(process.env.RUNNER_TEMP, `databricks-oidc-login-${process.pid}.log`)
    : undefined;
  const service = await launchMetadataService({
    script: join(__dirname, 'metadata-service.cjs'),
    settings: { ...inputs, host: result.host, audience: result.audience },
    credential: result.credential,
    audience: result.audience,
    secrets,
    logFile,
  });
  core.saveState('metadata-service-pid', String(service.pid));
  if (logFile) core.saveState('metadata-service-log', logFile);
  core.info(
    `Started the local metadata service (pid ${service.pid}); it refreshes the token for the rest of the job.`,
  );
  if (!inputs.exportEnv) {
    core.info(
      'export-env is false: set DATABRICKS_AUTH_TYPE=metadata-service and DATABRICKS_METADATA_SERVICE_URL yourself.',
    );
    return;
  }
  core.exportVariable('DATABRICKS_HOST', result.host);
  core.exportVariable('DATABRICKS_AUTH_TYPE', 'metadata-service');
  core.exportVariable('DATABRICKS_METADATA_SERVICE_URL', service.url);
  if (result.accountId) core.exportVariable('DATABRICKS_ACCOUNT_ID', result.accountId);
  core.info(
    'Exported for later steps: DATABRICKS_HOST, DATABRICKS_AUTH_TYPE=metadata-service, DATABRICKS_METADATA_SERVICE_URL (masked).',
  );
}

/** The action's main step: inputs, login, then mask, export, outputs and summary. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const secrets = new SecretRegistry((secret) => core.setSecret(secret));
  try {
    secrets.register(env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
    const inputs = readActionInputs(env);
    const idTokenSource = githubIdTokenSource(
      env.ACTIONS_ID_TOKEN_REQUEST_URL,
      env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    );
    const result = await login({ ...inputs, idTokenSource, secrets, log: logger });
    if (inputs.mode === 'refresh') await startRefreshing(inputs, result, secrets);
    else exportToken(inputs, result);
    core.setOutput('host', result.host);
    core.setOutput('token', result.credential.token);
    core.setOutput('expires-at', result.credential.expiresAt.toISOString());
    core.setOutput('principal', result.principal ?? '');
    if (inputs.mode === 'token') {
      const left = result.credential.expiresAt.getTime() - Date.now();
      core.info(
        `Note: this token lives only as long as the GitHub ID token it came from: it expires at ${result.credential.expiresAt.toISOString()} ` +
          `(in ${describeDuration(left)}). For longer steps (bundle deploy, bundle run, Terraform) use mode: refresh.`,
      );
    }
    await writeSummary(result).catch((error: unknown) =>
      core.debug(safe(`No job summary: ${secrets.redact(String(error))}`)),
    );
  } catch (error) {
    if (core.isDebug() && error instanceof Error && error.stack)
      core.debug(safe(secrets.redact(error.stack)));
    core.setFailed(safe(secrets.redact(describeFailure(error))));
  }
}

void run();
