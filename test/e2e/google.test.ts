import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive, stopMetadataService } from '../../packages/core/src/index.ts';
import {
  type Emulators,
  GITHUB_ISSUER,
  type GoogleCloud,
  type PoolProvider,
  poolName,
  providerName,
  startEmulators,
  startGoogleCloud,
} from '../emulators/index.ts';
import { agentEndpoints, maskedBeforeUse, plainVariables, runTask } from './azure-devops-agent.ts';
import { runActionStep, runSdkMe, type StepRun } from './github-runner.ts';

const SERVICE_ACCOUNT = 'databricks-deployer@my-project.iam.gserviceaccount.com';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

let emu: Emulators;
let gcp: GoogleCloud;
let githubProvider: PoolProvider;
let azureDevOpsProvider: PoolProvider;
let runnerTemp: string;
const started: number[] = [];

/**
 * One Google Cloud project: a pool with a GitHub provider (mapping the repository, admitting
 * only octo-org/octo-repo) and an Azure DevOps provider; a service account the GitHub
 * repository and the Azure DevOps pipeline may impersonate; and a Databricks workspace (and
 * account) where that service account is a user.
 */
beforeEach(async () => {
  emu = await startEmulators();
  gcp = await startGoogleCloud();
  gcp.sts.trust(emu.github.jwt);
  gcp.sts.trust(emu.azureDevOps.jwt);
  githubProvider = {
    projectNumber: '123456789012',
    pool: 'ci-pool',
    provider: 'github',
    issuer: GITHUB_ISSUER,
    attributeMapping: { 'google.subject': 'assertion.sub', 'attribute.repository': 'assertion.repository' },
    attributeCondition: "assertion.repository == 'octo-org/octo-repo'",
  };
  azureDevOpsProvider = {
    projectNumber: '123456789012',
    pool: 'ci-pool',
    provider: 'azure-devops',
    issuer: emu.azureDevOps.issuer,
    allowedAudiences: ['api://AzureADTokenExchange'],
    attributeMapping: { 'google.subject': 'assertion.sub' },
  };
  gcp.sts.providers.push(githubProvider, azureDevOpsProvider);
  const members = [
    `principalSet://iam.googleapis.com/${poolName(githubProvider)}/attribute.repository/octo-org/octo-repo`,
    `principal://iam.googleapis.com/${poolName(azureDevOpsProvider)}/subject/${emu.azureDevOps.pipelineSubject}`,
  ];
  gcp.iam.addServiceAccount(SERVICE_ACCOUNT, [
    { role: 'roles/iam.workloadIdentityUser', members },
    { role: 'roles/iam.serviceAccountOpenIdTokenCreator', members },
  ]);
  emu.databricks.acceptGoogleIdTokens({
    jwks: gcp.iam.jwks,
    users: [SERVICE_ACCOUNT],
    isAccessToken: (token) => gcp.iam.isAccessToken(token),
  });
  runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((pid) => stopMetadataService(pid)));
  await Promise.all([emu.stop(), gcp.stop()]);
  rmSync(runnerTemp, { recursive: true, force: true });
});

function githubStep(inputs: Record<string, string> = {}, env: Record<string, string> = {}): Promise<StepRun> {
  return runActionStep('main', {
    inputs: {
      host: emu.databricks.url,
      provider: 'google',
      'workload-identity-provider': providerName(githubProvider),
      'service-account': SERVICE_ACCOUNT,
      mode: 'token',
      ...inputs,
    },
    env: { ...emu.github.env, ...gcp.env, ...env },
    runnerTemp,
  });
}

/** Every Google credential handed out: the federated STS tokens, the ID tokens, the access tokens. */
function googleTokens(): { federated: string[]; idTokens: string[]; accessTokens: string[] } {
  return {
    federated: [...gcp.sts.federatedTokens.keys()],
    idTokens: [...gcp.iam.idTokens],
    accessTokens: [...gcp.iam.accessTokens],
  };
}

/** No token of any kind shows where a log reader could see it. */
function expectNoTokenVisible(run: StepRun): void {
  const { federated, idTokens, accessTokens } = googleTokens();
  for (const secret of [...federated, ...idTokens, ...accessTokens, ...emu.github.issued]) {
    expect(run.visibleOutput).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
    expect(run.summary).not.toContain(secret);
    expect(JSON.stringify(run.state)).not.toContain(secret);
  }
  // The federated token never leaves the step.
  for (const secret of federated) {
    expect(JSON.stringify(run.outputs)).not.toContain(secret);
    expect(JSON.stringify(run.exportedEnv)).not.toContain(secret);
  }
}

function expectFailedCleanly(run: StepRun): string {
  expect(run.code).not.toBe(0);
  expect(run.errors).toHaveLength(1);
  expect(run.exportedEnv).toEqual({});
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expectNoTokenVisible(run);
  return run.errors[0] ?? '';
}

describe('GitHub Action, provider google', () => {
  it('mode token: GitHub ID token -> Google STS -> generateIdToken; the workspace and the real SDK accept the Google ID token', async () => {
    const run = await githubStep();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);

    // The GitHub token is asked for the provider's default allowed audience.
    const name = providerName(githubProvider);
    expect(emu.github.requestsTo('/idtoken/job')[0]?.query.get('audience')).toBe(
      `https://iam.googleapis.com/${name}`,
    );
    // STS gets exactly the RFC 8693 exchange google-github-actions/auth sends.
    const sts = gcp.sts.requestsTo('/v1/token');
    expect(sts).toHaveLength(1);
    expect(sts[0]?.headers['content-type']).toBe('application/json');
    expect(sts[0]?.headers.authorization).toBeUndefined();
    expect(JSON.parse(sts[0]?.body ?? '{}')).toEqual({
      audience: `//iam.googleapis.com/${name}`,
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: CLOUD_PLATFORM,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      subjectToken: emu.github.issued[0],
    });
    // IAM Credentials, with the federated token, for an ID token whose audience is the workspace.
    const [federated] = googleTokens().federated;
    const iam = gcp.iam.requests;
    expect(iam.map((r) => r.path)).toEqual([
      `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateIdToken`,
    ]);
    expect(iam[0]?.headers.authorization).toBe(`Bearer ${federated}`);
    expect(JSON.parse(iam[0]?.body ?? '{}')).toEqual({ audience: emu.databricks.url, includeEmail: true });

    // DATABRICKS_TOKEN is the Google ID token; no Databricks token exchange happened.
    const idToken = gcp.iam.idTokens[0] ?? '';
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: emu.databricks.workspaceId, // from the host's metadata
      DATABRICKS_TOKEN: idToken,
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    expect(emu.databricks.requestsTo(/\/oidc\//)).toEqual([]);
    expect(run.outputs.token).toBe(idToken);
    expect(run.outputs.principal).toBe(SERVICE_ACCOUNT);
    expect(run.outputs).not.toHaveProperty('google-access-token');
    expect(emu.databricks.requestsTo('/api/2.0/preview/scim/v2/Me')[0]?.headers.authorization).toBe(
      `Bearer ${idToken}`,
    );
    expect(run.masks).toEqual(expect.arrayContaining([idToken, federated])); // masked in case anything printed them
    expectNoTokenVisible(run);
    expect(run.stdout).toContain(
      `Exchanging it at Google STS ${gcp.sts.tokenUrl} for workload identity provider ${name}`,
    );
    expect(run.stdout).toContain(`Verified: the workspace knows this token as ${SERVICE_ACCOUNT}`);
    expect(run.stdout).toMatch(/Note: this Google ID token expires at \S+ \(in (59 min \d+ s|1 h 0 min)\)/);

    // A later step: the real SDK, with nothing but the exported variables.
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: SERVICE_ACCOUNT });
  });

  it('mode refresh: the metadata service mints fresh Google ID tokens after the first one expired', async () => {
    gcp.iam.idTokenLifetimeSeconds = 4;
    const run = await githubStep({ mode: 'refresh' });
    const pid = Number(run.state['metadata-service-pid']);
    if (pid) started.push(pid);
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(isProcessAlive(pid)).toBe(true);
    const url = run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL ?? '';
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: emu.databricks.workspaceId, // from the host's metadata
      DATABRICKS_AUTH_TYPE: 'metadata-service',
      DATABRICKS_METADATA_SERVICE_URL: url,
      // The first token, for tools without Databricks auth (DESIGN: mode refresh).
      DATABRICKS_TOKEN: gcp.iam.idTokens[0],
    });
    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url };
    const first = (await (await fetch(url, { headers })).json()) as {
      access_token: string;
      expires_on: number;
    };
    expect(first.access_token).toBe(gcp.iam.idTokens[0]);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: SERVICE_ACCOUNT });

    await new Promise((resolve) => setTimeout(resolve, first.expires_on * 1000 - Date.now() + 200));
    const second = (await (await fetch(url, { headers })).json()) as {
      access_token: string;
      expires_on: number;
    };
    expect(second.access_token).not.toBe(first.access_token);
    expect(gcp.iam.idTokens).toContain(second.access_token);
    expect(second.expires_on * 1000).toBeGreaterThan(Date.now());
    // Each refresh went the whole way: a fresh GitHub token, STS, IAM Credentials.
    expect(emu.github.issued.length).toBeGreaterThanOrEqual(2);
    expect(gcp.sts.requestsTo('/v1/token').length).toBeGreaterThanOrEqual(2);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: SERVICE_ACCOUNT });

    const post = await runActionStep('post', { state: run.state, runnerTemp });
    expect(post.code).toBe(0);
    expect(isProcessAlive(pid)).toBe(false);
    expect(post.stdout).toContain('Metadata service for');
    const { federated, idTokens } = googleTokens();
    for (const secret of [...federated, ...idTokens, ...emu.github.issued])
      expect(post.stdout).not.toContain(secret);
    expect(readdirSync(runnerTemp)).toEqual([]);
  });

  it('account path: an ID token for the accounts host and the masked google-access-token output, even with RUNNER_DEBUG=1', async () => {
    const run = await githubStep({ 'account-id': emu.databricks.accountId }, { RUNNER_DEBUG: '1' });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('::debug::'); // debug really was on

    const iam = gcp.iam.requests;
    expect(iam.map((r) => r.path)).toEqual([
      `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateIdToken`,
      `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
    ]);
    expect(JSON.parse(iam[1]?.body ?? '{}')).toEqual({ scope: [CLOUD_PLATFORM], lifetime: '3600s' });
    const idToken = gcp.iam.idTokens[0] ?? '';
    const accessToken = gcp.iam.accessTokens[0] ?? '';
    expect(run.outputs['google-access-token']).toBe(accessToken);
    expect(run.outputs.token).toBe(idToken);
    expect(run.outputs.principal).toBe(''); // account tokens are not verified with SCIM Me
    expect(run.exportedEnv).toMatchObject({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_TOKEN: idToken,
      DATABRICKS_ACCOUNT_ID: emu.databricks.accountId,
    });
    expect(run.masks).toEqual(expect.arrayContaining([idToken, accessToken]));
    expectNoTokenVisible(run);

    // What the curl example of docs/google-cloud.md does with the two outputs.
    const workspaces = `${emu.databricks.url}/api/2.0/accounts/${emu.databricks.accountId}/workspaces`;
    const create = (extra: Record<string, string>) =>
      fetch(workspaces, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${run.outputs.token}`,
          'content-type': 'application/json',
          ...extra,
        },
        body: '{"workspace_name": "analytics"}',
      });
    expect((await create({ 'X-Databricks-GCP-SA-Access-Token': accessToken })).status).toBe(200);
    expect((await create({})).status).toBe(403);
  });

  it('explains a workload identity provider that does not exist, naming pool and provider', async () => {
    const wrong = { ...githubProvider, provider: 'gitlab' };
    const error = expectFailedCleanly(
      await githubStep({ 'workload-identity-provider': providerName(wrong) }),
    );
    expect(error).toContain(
      'Failed to exchange the ID token at Google STS: Google STS refused it (HTTP 400: invalid_target',
    );
    expect(error).toContain('[GOOGLE_STS_REJECTED]');
    expect(error).toContain('Google has no enabled provider gitlab of pool ci-pool in project 123456789012');
    expect(error).toContain('subject  (sub): repo:octo-org/octo-repo:environment:prod');
    expect(gcp.iam.requests).toEqual([]);
  });

  it('explains an attribute condition that rejects the token: claims first, then the mapping that must match', async () => {
    githubProvider.attributeCondition = "assertion.repository == 'octo-org/infra'";
    const error = expectFailedCleanly(await githubStep());
    expect(error).toContain(
      'unauthorized_client: The given credential is rejected by the attribute condition',
    );
    expect(error).toContain(
      'The attribute condition of provider github of pool ci-pool in project 123456789012',
    );
    const lines = error.split('\n');
    const claims = lines.findIndex((l) =>
      l.includes('subject  (sub): repo:octo-org/octo-repo:environment:prod'),
    );
    const mapping = lines.findIndex((l) => l.includes('attribute mapping'));
    expect(claims).toBeGreaterThan(0);
    expect(mapping).toBeGreaterThan(claims);
    expect(error).toContain(`issuer-uri          = ${GITHUB_ISSUER}`);
    expect(error).toContain('google.subject = repo:octo-org/octo-repo:environment:prod');
    expect(error).toContain(
      'gcloud iam workload-identity-pools providers create-oidc github --project=123456789012 --location=global --workload-identity-pool=ci-pool ' +
        `--issuer-uri='${GITHUB_ISSUER}' --attribute-mapping='google.subject=assertion.sub,attribute.repository=assertion.repository,attribute.repository_owner=assertion.repository_owner' ` +
        `--attribute-condition='assertion.repository == '\\''octo-org/octo-repo'\\'''`,
    );
    expect(gcp.sts.rejections).toEqual(["condition assertion.repository == 'octo-org/infra' is false"]);
  });

  it('explains a service account the pool may not impersonate: the principal and the roles to grant', async () => {
    const other = 'someone-else@my-project.iam.gserviceaccount.com';
    gcp.iam.addServiceAccount(other, []);
    const error = expectFailedCleanly(await githubStep({ 'service-account': other }));
    const principal =
      'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/subject/repo:octo-org/octo-repo:environment:prod';
    expect(error).toContain(
      `Failed to get a Google ID token for ${other} from IAM Credentials: IAM Credentials refused it (HTTP 403: PERMISSION_DENIED: Permission 'iam.serviceAccounts.getOpenIdToken' denied`,
    );
    expect(error).toContain('[GOOGLE_IAM_REJECTED]');
    expect(error).toContain(`The pool's principal ${principal} may not get ID tokens for ${other}`);
    expect(error).toContain(
      `gcloud iam service-accounts add-iam-policy-binding ${other} --role=roles/iam.workloadIdentityUser --member='${principal}'`,
    );
    expect(error).toContain(
      `gcloud iam service-accounts add-iam-policy-binding ${other} --role=roles/iam.serviceAccountOpenIdTokenCreator --member='${principal}'`,
    );
    expect(error).toContain(
      "--member='principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/attribute.repository/octo-org/octo-repo'",
    );
    expect(gcp.iam.idTokens).toEqual([]);
  });

  it('explains a workspace that does not accept the Google ID token: add the service account by e-mail, or use federation with SSO', async () => {
    const google = emu.databricks.google;
    if (!google) throw new Error('the workspace should accept Google ID tokens');
    // The service account is no user of the workspace.
    emu.databricks.google = { ...google, users: [] };
    const error = expectFailedCleanly(await githubStep());
    expect(error).toContain('Failed to verify the Databricks token: the workspace refused it (HTTP 401');
    expect(error).toContain(
      `Add the service account to the workspace as a user, by its e-mail ${SERVICE_ACCOUNT}`,
    );
    expect(error).toContain(
      'Workspaces that use their own SSO do not accept Google ID tokens: use provider databricks',
    );
    // A workspace with its own SSO refuses the token even for a registered user: same advice.
    emu.databricks.google = { ...google, ownSso: true };
    const sso = expectFailedCleanly(await githubStep());
    expect(sso).toContain('[VERIFY_FAILED]');
    expect(sso).toContain(
      'use provider databricks (Databricks token federation, which also works on Google Cloud)',
    );
  });
});

describe('DatabricksOidcLogin@1, provider google', () => {
  it('mode token: the pipeline token -> STS -> generateIdToken; a later script step works from the plain variables', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        provider: 'google',
        workloadIdentityProvider: providerName(azureDevOpsProvider),
        serviceAccount: SERVICE_ACCOUNT,
        mode: 'token',
      },
      env: { ...agentEndpoints(emu, { includeConnection: false }), ...gcp.env },
      tempDirectory: runnerTemp,
    });
    expect(run.result).toEqual({
      status: 'Succeeded',
      message: `Logged in to ${emu.databricks.url} as ${SERVICE_ACCOUNT}.`,
    });
    // Azure DevOps tokens always carry api://AzureADTokenExchange; the provider allows it.
    const sts = JSON.parse(gcp.sts.requestsTo('/v1/token')[0]?.body ?? '{}') as { subjectToken: string };
    expect(sts.subjectToken).toBe(emu.azureDevOps.issued[0]);
    const idToken = gcp.iam.idTokens[0] ?? '';
    expect(run.variables.DATABRICKS_TOKEN).toEqual({ value: idToken, secret: true, output: false });
    expect(run.variables).not.toHaveProperty('googleAccessToken');
    expect(maskedBeforeUse(run, idToken)).toBe(true);
    for (const federated of gcp.sts.federatedTokens.keys())
      expect(maskedBeforeUse(run, federated)).toBe(true);
    expect(await runSdkMe(plainVariables(run))).toMatchObject({ userName: SERVICE_ACCOUNT });
  });

  it('mode refresh: the metadata service mints fresh Google ID tokens with the pipeline identity', async () => {
    gcp.iam.idTokenLifetimeSeconds = 4;
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        provider: 'google',
        workloadIdentityProvider: providerName(azureDevOpsProvider),
        serviceAccount: SERVICE_ACCOUNT,
        mode: 'refresh',
      },
      env: { ...agentEndpoints(emu, { includeConnection: false }), ...gcp.env },
      tempDirectory: runnerTemp,
    });
    const pid = Number(run.taskVariables.metadataServicePid);
    if (pid) started.push(pid);
    expect(run.result?.status).toBe('Succeeded');
    const url = run.variables.DATABRICKS_METADATA_SERVICE_URL?.value ?? '';
    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url };
    const first = (await (await fetch(url, { headers })).json()) as {
      access_token: string;
      expires_on: number;
    };
    expect(first.access_token).toBe(gcp.iam.idTokens[0]);

    await new Promise((resolve) => setTimeout(resolve, first.expires_on * 1000 - Date.now() + 200));
    const second = (await (await fetch(url, { headers })).json()) as { access_token: string };
    expect(second.access_token).not.toBe(first.access_token);
    expect(gcp.iam.idTokens).toContain(second.access_token);
    expect(emu.azureDevOps.issued.length).toBeGreaterThanOrEqual(2);
    expect(await runSdkMe(plainVariables(run))).toMatchObject({ userName: SERVICE_ACCOUNT });

    const post = await runTask('post', emu, {
      taskVariables: run.taskVariables,
      tempDirectory: runnerTemp,
    });
    expect(post.stdout).toContain(`Stopped the local metadata service (pid ${pid})`);
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('account path: the googleAccessToken secret output variable', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        accountId: emu.databricks.accountId,
        provider: 'google',
        workloadIdentityProvider: providerName(azureDevOpsProvider),
        serviceAccount: SERVICE_ACCOUNT,
        mode: 'token',
      },
      env: { ...agentEndpoints(emu, { includeConnection: false }), ...gcp.env },
      tempDirectory: runnerTemp,
    });
    expect(run.result?.status).toBe('Succeeded');
    const accessToken = gcp.iam.accessTokens[0] ?? '';
    expect(run.variables.googleAccessToken).toEqual({ value: accessToken, secret: true, output: true });
    expect(maskedBeforeUse(run, accessToken)).toBe(true);
    expect(maskedBeforeUse(run, gcp.iam.idTokens[0] ?? '')).toBe(true);
    for (const federated of gcp.sts.federatedTokens.keys())
      expect(maskedBeforeUse(run, federated)).toBe(true);
  });
});
