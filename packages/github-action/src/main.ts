import { appendFileSync, chmodSync } from 'node:fs';
import { EOL, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import {
  describeDuration,
  describeFailure,
  githubIdTokenSource,
  hostVariables,
  type LoginResult,
  launchMetadataService,
  login,
  neutraliseRunnerCommands,
  type ProfileCredential,
  printableLine,
  SecretRegistry,
  writeConfigProfile,
} from '@databricks-oidc-login/core';
import { type ActionInputs, readActionInputs } from './inputs.ts';
import type { GitHubSourcePayload } from './metadata-service.ts';
import { tokenCommandPath } from './token-command.ts';

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

/**
 * A short table for the job summary: never a token. The file lands on disk and in the run's page,
 * so server text (the principal) passes the secret registry and the neutraliser like a log line.
 */
async function writeSummary(result: LoginResult, secrets: SecretRegistry): Promise<void> {
  const path = process.env.GITHUB_STEP_SUMMARY;
  if (!path) return;
  const row = (name: string, value: string) => [
    { data: name, header: true },
    escapeHtml(safe(secrets.redact(value))),
  ];
  const html = core.summary
    .addHeading('Databricks OIDC login', 3)
    .addTable([
      row('Host', result.host),
      row('Auth type', result.authType),
      row('Principal', result.principal ?? '(not verified)'),
      row('Subject', result.claims?.sub ?? '(no ID token)'),
      row('Expires', expiresAt(result) || 'not known (personal access token)'),
    ])
    .stringify();
  core.summary.emptyBuffer();
  // Written synchronously, as summary.write() would append it: its promise-based fs would start
  // libuv's thread pool for one small append.
  appendFileSync(path, `${html}${EOL}`);
}

/** ISO 8601, or '' for a PAT, whose expiry cannot be known. */
function expiresAt(result: LoginResult): string {
  return result.authType === 'pat' ? '' : result.credential.expiresAt.toISOString();
}

function exportToken(inputs: ActionInputs, result: LoginResult): void {
  if (!inputs.exportEnv) {
    core.info('export-env is false: nothing exported; use the step outputs.');
    return;
  }
  const host = exportHostVariables(result);
  core.exportVariable('DATABRICKS_TOKEN', result.credential.token);
  // Stops the SDKs' "more than one authorization method configured" when DATABRICKS_CLIENT_ID is also set.
  core.exportVariable('DATABRICKS_AUTH_TYPE', 'pat');
  const profile = exportProfile(inputs, result, { kind: 'token', token: result.credential.token });
  core.info(
    `Exported for later steps: ${[...host, 'DATABRICKS_TOKEN', 'DATABRICKS_AUTH_TYPE', ...profile].join(', ')}.`,
  );
}

/**
 * DATABRICKS_HOST, and the workspace and account when known; returns the names. Each is named
 * literally, so the docs-consistency test can hold the README's table to the sources.
 */
function exportHostVariables(result: LoginResult): string[] {
  const vars = new Map(hostVariables(result));
  const account = vars.get('DATABRICKS_ACCOUNT_ID');
  const workspace = vars.get('DATABRICKS_WORKSPACE_ID');
  const unified = vars.get('DATABRICKS_EXPERIMENTAL_IS_UNIFIED_HOST');
  core.exportVariable('DATABRICKS_HOST', result.host);
  if (account) core.exportVariable('DATABRICKS_ACCOUNT_ID', account);
  if (workspace) core.exportVariable('DATABRICKS_WORKSPACE_ID', workspace);
  if (unified) core.exportVariable('DATABRICKS_EXPERIMENTAL_IS_UNIFIED_HOST', unified);
  return [...vars.keys()];
}

/**
 * With input profile: a job-private config file for tools that name a profile (a bundle's
 * workspace.profile beats the environment since CLI 1.7.0). The post step removes it.
 */
function exportProfile(inputs: ActionInputs, result: LoginResult, credential: ProfileCredential): string[] {
  if (!inputs.profile) return [];
  const directory = process.env.RUNNER_TEMP || tmpdir();
  const path = writeConfigProfile(directory, inputs.profile, result, credential);
  core.saveState('config-file', path);
  core.exportVariable('DATABRICKS_CONFIG_FILE', path);
  core.exportVariable('DATABRICKS_CONFIG_PROFILE', inputs.profile);
  return [`DATABRICKS_CONFIG_FILE (profile ${inputs.profile}, mode 0600)`, 'DATABRICKS_CONFIG_PROFILE'];
}

/** Where `databricks-oidc-token` lives: dist/bin, next to this bundle. */
const TOKEN_COMMAND_DIR = join(__dirname, 'bin');

/**
 * Mode refresh: a detached local metadata service keeps handing out fresh tokens for the job.
 * Later steps get the SDK/CLI variables, DATABRICKS_TOKEN (the first token) for tools without
 * Databricks auth, and `databricks-oidc-token` on PATH for a fresh token at any time.
 */
async function startRefreshing(
  inputs: ActionInputs,
  result: LoginResult,
  secrets: SecretRegistry,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const source: GitHubSourcePayload = {
    requestUrl: env.ACTIONS_ID_TOKEN_REQUEST_URL,
    requestToken: env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
  };
  const service = await launchMetadataService({
    script: join(__dirname, 'metadata-service.cjs'),
    settings: {
      host: result.host,
      clientId: inputs.clientId,
      // The login's routing: the host is now the bare origin, so the workspace and account travel on their own.
      accountId: result.accountId,
      workspaceId: result.workspaceId,
      hostMetadata: result.hostMetadata,
      audience: result.audience,
      provider: inputs.provider,
      tenantId: inputs.tenantId,
      authorityHost: inputs.authorityHost,
      timeoutMs: inputs.timeoutMs,
      workloadIdentityProvider: inputs.workloadIdentityProvider,
      serviceAccount: inputs.serviceAccount,
    },
    credential: result.credential,
    audience: result.audience,
    secrets,
    logDirectory: env.RUNNER_TEMP || undefined,
    source,
    maxLifetimeMs: inputs.serviceLifetimeMs,
    debug: core.isDebug(),
    clientSecret: result.authType === 'm2m' ? inputs.clientSecret : undefined,
  });
  core.saveState('metadata-service-pid', String(service.pid));
  core.saveState('metadata-service-url', service.url);
  if (service.logFile) core.saveState('metadata-service-log', service.logFile);
  core.setOutput('metadata-service-url', service.url);
  core.info(
    `Started the local metadata service (pid ${service.pid}); it refreshes the token for the rest of the job, until the post step (at most ${describeDuration(inputs.serviceLifetimeMs)}).`,
  );
  if (!inputs.exportEnv) {
    core.info(
      `export-env is false: set DATABRICKS_AUTH_TYPE=metadata-service, DATABRICKS_METADATA_SERVICE_URL (output metadata-service-url) and DATABRICKS_HOST yourself; ${tokenCommandPath(TOKEN_COMMAND_DIR)} then prints a fresh token.`,
    );
    return;
  }
  const host = exportHostVariables(result);
  core.exportVariable('DATABRICKS_AUTH_TYPE', 'metadata-service');
  core.exportVariable('DATABRICKS_METADATA_SERVICE_URL', service.url);
  core.exportVariable('DATABRICKS_TOKEN', result.credential.token);
  const profile = exportProfile(inputs, result, { kind: 'metadata-service', url: service.url });
  try {
    chmodSync(join(TOKEN_COMMAND_DIR, 'databricks-oidc-token'), 0o755); // in case the checkout lost the executable bit
  } catch {
    // read-only or Windows: the .cmd next to it needs no bit
  }
  core.addPath(TOKEN_COMMAND_DIR);
  core.info(
    `Exported for later steps: ${host.join(', ')}, DATABRICKS_AUTH_TYPE=metadata-service, DATABRICKS_METADATA_SERVICE_URL (masked), DATABRICKS_TOKEN (the first token only)${profile.map((p) => `, ${p}`).join('')}; ` +
      'and on PATH: databricks-oidc-token, which prints a fresh token (curl -H "Authorization: Bearer $(databricks-oidc-token)" ...).',
  );
}

/** The action's main step: inputs, login, then mask, export, outputs and summary. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const secrets = new SecretRegistry((secret) => core.setSecret(secret));
  try {
    secrets.register(env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
    const inputs = readActionInputs(env);
    // Built only if auth-type needs it: without the ID-token variables, auto falls back.
    const idTokenSource = () =>
      githubIdTokenSource(env.ACTIONS_ID_TOKEN_REQUEST_URL, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
    // Account APIs that create Google Cloud resources also need the service account's access token.
    const googleAccessToken = inputs.provider === 'google' && inputs.accountId !== '';
    const result = await login({ ...inputs, googleAccessToken, idTokenSource, secrets, log: logger });
    // Nothing refreshes a PAT: it is exported as it is, whatever mode says.
    const refresh = inputs.mode === 'refresh' && result.authType !== 'pat';
    if (inputs.mode === 'refresh' && !refresh)
      core.info('auth-type pat: mode refresh does not apply; DATABRICKS_TOKEN is the personal access token.');
    if (refresh) await startRefreshing(inputs, result, secrets, env);
    else exportToken(inputs, result);
    core.setOutput('host', result.host);
    core.setOutput('token', result.credential.token);
    core.setOutput('expires-at', expiresAt(result));
    core.setOutput('principal', result.principal ?? '');
    if (result.googleAccessToken) {
      core.setOutput('google-access-token', result.googleAccessToken.token);
      core.info(
        `Set output google-access-token (masked), for X-Databricks-GCP-SA-Access-Token; it expires at ${result.googleAccessToken.expiresAt.toISOString()} and is not refreshed.`,
      );
    }
    core.setOutput('auth-type', result.authType);
    if (!refresh && result.authType !== 'pat') {
      const left = result.credential.expiresAt.getTime() - Date.now();
      const lives =
        inputs.provider === 'google'
          ? 'Note: this Google ID token'
          : result.authType === 'oidc'
            ? 'Note: this token lives only as long as the GitHub ID token it came from: it'
            : 'Note: this token';
      core.info(
        `${lives} expires at ${result.credential.expiresAt.toISOString()} ` +
          `(in ${describeDuration(left)}). For longer steps (bundle deploy, bundle run, Terraform) use mode: refresh.`,
      );
    }
    await writeSummary(result, secrets).catch((error: unknown) =>
      core.debug(safe(`No job summary: ${secrets.redact(String(error))}`)),
    );
  } catch (error) {
    if (core.isDebug() && error instanceof Error && error.stack)
      core.debug(safe(secrets.redact(error.stack)));
    core.setFailed(safe(secrets.redact(describeFailure(error))));
  }
}

void run();
