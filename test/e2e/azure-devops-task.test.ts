import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive, stopMetadataService } from '../../packages/core/src/index.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import {
  agentEndpoints,
  maskedBeforeUse,
  plainVariables,
  runLaterScriptStep,
  runTask,
  TASK_DIR,
  type TaskRun,
} from './azure-devops-agent.ts';
import { runSdkMe } from './github-runner.ts';
import { processFile } from './process-info.ts';

let emu: Emulators;
let temp: string;
const started: number[] = [];

beforeEach(async () => {
  emu = await startEmulators();
  temp = mkdtempSync(join(tmpdir(), 'agent-temp-'));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((pid) => stopMetadataService(pid)));
  await emu.stop();
  rmSync(temp, { recursive: true, force: true });
});

const oidcPath = () =>
  `/${emu.azureDevOps.orgName}/${emu.azureDevOps.projectId}/_apis/distributedtask/hubs/build/plans/${emu.azureDevOps.planId}/jobs/${emu.azureDevOps.jobId}/oidctoken`;

function expectFailed(run: TaskRun): string {
  expect(run.result?.status).toBe('Failed');
  expect(run.variables).toEqual({});
  expect(run.stdout).not.toMatch(/\n\s+at .*\(/); // no stack trace outside debug commands
  for (const token of [...emu.databricks.issuedTokens, ...emu.azureDevOps.issued])
    expect(maskedBeforeUse(run, token) || !run.stdout.includes(token)).toBe(true);
  return run.result?.message ?? '';
}

describe('DatabricksOidcLogin@1, mode token', () => {
  it('logs in with the pipeline identity; a later script step works from the plain variables alone', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        mode: 'token',
        host: `${emu.databricks.url}/?o=42`,
        clientId: emu.servicePrincipal.applicationId,
      },
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    expect(run.result).toEqual({
      status: 'Succeeded',
      message: `Logged in to ${emu.databricks.url} as ${emu.servicePrincipal.applicationId}.`,
    });
    expect(run.code).toBe(0);

    // The OIDC request: the job token from SYSTEMVSSCONNECTION, no service connection.
    const oidc = emu.azureDevOps.requestsTo(oidcPath());
    expect(oidc).toHaveLength(1);
    expect(oidc[0]?.headers.authorization).toBe(`Bearer ${emu.azureDevOps.jobAccessToken}`);
    expect(oidc[0]?.query.get('api-version')).toBe('7.1');
    expect(oidc[0]?.query.has('serviceConnectionId')).toBe(false);
    const idToken = emu.azureDevOps.issued[0] ?? '';
    const form = Object.fromEntries(emu.databricks.requestsTo('/oidc/v1/token')[0]?.form ?? []);
    expect(form).toMatchObject({
      subject_token: idToken,
      client_id: emu.servicePrincipal.applicationId,
      scope: 'all-apis',
    });
    expect(run.stdout).toContain(`subject  (sub): p://octo-org/octo-project/deploy-pipeline`);
    expect(run.stdout).toContain(`issuer   (iss): https://vstoken.dev.azure.com/${emu.azureDevOps.orgId}`);
    expect(run.stdout).toContain('audience (aud): api://AzureADTokenExchange');

    // Variables exactly as designed.
    const token = emu.databricks.issuedTokens[0] ?? '';
    const configFile = run.variables.DATABRICKS_CONFIG_FILE?.value ?? '';
    expect(run.variables).toEqual({
      DATABRICKS_TOKEN: { value: token, secret: true, output: false },
      DATABRICKS_HOST: { value: emu.databricks.url, secret: false, output: false },
      // From the ?o=42 of the host, as pasted: plain, for later script steps.
      DATABRICKS_WORKSPACE_ID: { value: '42', secret: false, output: false },
      DATABRICKS_AUTH_TYPE: { value: 'pat', secret: false, output: false },
      DATABRICKS_CONFIG_FILE: { value: configFile, secret: false, output: false },
      DATABRICKS_CONFIG_PROFILE: { value: 'databricks-oidc-login', secret: false, output: false },
      host: { value: emu.databricks.url, secret: false, output: true },
      expiresAt: { value: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), secret: false, output: true },
      principal: { value: emu.servicePrincipal.applicationId, secret: false, output: true },
      authType: { value: 'oidc', secret: false, output: true },
    });
    expect(configFile.startsWith(temp)).toBe(true);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(configFile, 'utf8')).toBe(
      `[databricks-oidc-login]\nhost = ${emu.databricks.url}\nworkspace_id = 42\nauth_type = pat\ntoken = ${token}\n`,
    );

    // Secrets are registered before anything else could print them.
    expect(maskedBeforeUse(run, token)).toBe(true);
    expect(maskedBeforeUse(run, idToken)).toBe(true);
    expect(maskedBeforeUse(run, emu.azureDevOps.jobAccessToken)).toBe(true);

    // A later `script:` step gets only the plain variables; the real SDK works with them.
    const later = plainVariables(run);
    expect(later).not.toHaveProperty('DATABRICKS_TOKEN');
    expect(await runSdkMe(later)).toMatchObject({ userName: emu.servicePrincipal.applicationId });

    // At the end of the job, the post-job handler removes the file that holds the token.
    expect(run.taskVariables.configFile).toBe(configFile);
    const post = await runTask('post', emu, { taskVariables: run.taskVariables, tempDirectory: temp });
    expect(post.code).toBe(0);
    expect(existsSync(configFile)).toBe(false);
  });

  it('logs in with a WIF service connection through Entra ID (provider azure)', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        tokenSource: 'serviceConnection',
        provider: 'azure',
        azureSubscription: emu.serviceConnection.id,
      },
      env: agentEndpoints(emu),
      tempDirectory: temp,
    });
    expect(run.result?.status).toBe('Succeeded');
    expect(emu.azureDevOps.requestsTo(oidcPath())[0]?.query.get('serviceConnectionId')).toBe(
      emu.serviceConnection.id,
    );
    const entra = emu.entra.requestsTo(`/${emu.entra.tenantId}/oauth2/v2.0/token`);
    expect(Object.fromEntries(entra[0]?.form ?? [])).toMatchObject({
      client_id: emu.servicePrincipal.applicationId,
      client_assertion: emu.azureDevOps.issued[0],
      scope: '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default',
    });
    expect(run.stdout).toContain('subject  (sub): sc://octo-org/octo-project/databricks-wif');
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(0);
    expect(await runSdkMe(plainVariables(run))).toMatchObject({
      userName: emu.servicePrincipal.applicationId,
    });
  });

  it('logs in with a service connection through Databricks token federation', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        tokenSource: 'serviceConnection',
        azureSubscription: emu.serviceConnection.id,
        clientId: emu.servicePrincipal.applicationId,
      },
      env: agentEndpoints(emu),
      tempDirectory: temp,
    });
    expect(run.result?.status).toBe('Succeeded');
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(1);
    expect(await runSdkMe(plainVariables(run))).toMatchObject({
      userName: emu.servicePrincipal.applicationId,
    });
  });

  it('reads the host from the DATABRICKS_HOST variable, and gets account tokens', async () => {
    const target = emu.servicePrincipal.policies[1];
    if (!target) throw new Error('the emulator lacks policies[1]');
    target.audiences = ['api://AzureADTokenExchange'];
    const run = await runTask('main', emu, {
      inputs: {
        mode: 'token',
        clientId: emu.servicePrincipal.applicationId,
        accountId: emu.databricks.accountId,
      },
      env: { ...agentEndpoints(emu, { includeConnection: false }), DATABRICKS_HOST: emu.databricks.url },
      tempDirectory: temp,
    });
    expect(run.result?.status).toBe('Succeeded');
    expect(emu.databricks.requestsTo(`/oidc/accounts/${emu.databricks.accountId}/v1/token`)).toHaveLength(1);
    expect(run.variables.DATABRICKS_ACCOUNT_ID?.value).toBe(emu.databricks.accountId);
  });
});

describe('DatabricksOidcLogin@1, default inputs (mode refresh)', () => {
  it('keeps later script steps authenticated from plain variables and the prepended path, and the post-job handler leaves nothing behind', async () => {
    emu.azureDevOps.tokenLifetimeSeconds = 4; // so the service must refresh while the test watches
    const run = await runTask('main', emu, {
      inputs: { host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId },
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    const pid = Number(run.taskVariables.metadataServicePid);
    if (pid) started.push(pid);
    expect(run.result?.status).toBe('Succeeded');
    const url = run.variables.DATABRICKS_METADATA_SERVICE_URL?.value ?? '';
    const first = emu.databricks.issuedTokens[0] ?? '';
    expect(plainVariables(run)).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: emu.databricks.workspaceId, // from the host's metadata
      DATABRICKS_AUTH_TYPE: 'metadata-service',
      DATABRICKS_METADATA_SERVICE_URL: url,
    });
    expect(run.variables.DATABRICKS_TOKEN).toEqual({ value: first, secret: true, output: false });
    expect(run.variables.authType).toEqual({ value: 'oidc', secret: false, output: true });
    expect(maskedBeforeUse(run, url)).toBe(true);
    expect(maskedBeforeUse(run, first)).toBe(true);
    expect(run.prependedPaths).toEqual([join(TASK_DIR, 'bin')]);
    expect(isProcessAlive(pid)).toBe(true);
    // The service's environment holds no job token: it came over IPC (Linux only, process-info.ts).
    const environ = processFile(pid, 'environ') ?? '';
    expect(environ).not.toContain(emu.azureDevOps.jobAccessToken);
    expect(environ).not.toMatch(/ENDPOINT_AUTH|SYSTEM_ACCESSTOKEN/);
    const logName = readdirSync(temp).find((f) => f.endsWith('.log')) ?? '';
    expect(logName).toMatch(/^databricks-oidc-login-[0-9a-f]{24}\.log$/);
    expect(statSync(join(temp, logName)).mode & 0o777).toBe(0o600);

    // A later script step right after the login: the real SDK from the plain variables.
    expect(await runSdkMe(plainVariables(run))).toMatchObject({
      userName: emu.servicePrincipal.applicationId,
    });
    // Over two more token lifetimes: databricks-oidc-token from the prepended PATH, and the SDK.
    let expiresAt = Date.parse(run.variables.expiresAt?.value ?? '');
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 300));
      const step = await runLaterScriptStep(run, 'token=$(databricks-oidc-token) && printf %s "$token"');
      expect(step.stderr).toBe('');
      expect(step.code).toBe(0);
      expect(step.stdout).not.toBe(first);
      const me = await fetch(`${emu.databricks.url}/api/2.0/preview/scim/v2/Me`, {
        headers: { authorization: `Bearer ${step.stdout}` },
      });
      expect(me.status).toBe(200);
      expect(await runSdkMe(plainVariables(run))).toMatchObject({
        userName: emu.servicePrincipal.applicationId,
      });
      const served = (await (
        await fetch(url, {
          headers: { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url },
        })
      ).json()) as { expires_on: number };
      expiresAt = served.expires_on * 1000;
    }
    // The refreshes asked Azure DevOps with the job token the task handed over IPC.
    const oidcRequests = emu.azureDevOps.requestsTo(oidcPath());
    expect(oidcRequests.length).toBeGreaterThanOrEqual(3);
    expect(oidcRequests.at(-1)?.headers.authorization).toBe(`Bearer ${emu.azureDevOps.jobAccessToken}`);

    const post = await runTask('post', emu, { taskVariables: run.taskVariables, tempDirectory: temp });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`Stopped the local metadata service (pid ${pid})`);
    expect(post.stdout).toContain('Metadata service log:');
    for (const secret of [...emu.databricks.issuedTokens, ...emu.azureDevOps.issued, url])
      expect(post.stdout.replace(/^##vso\[task\.debug\].*$/gm, '')).not.toContain(secret);
    expect(isProcessAlive(pid)).toBe(false);
    expect(readdirSync(temp).filter((f) => f.startsWith('databricks-oidc-login'))).toEqual([]);
  }, 90_000);

  it('the post-job handler refuses to signal a PID that is not its service, and says so', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const post = await runTask('post', emu, {
        taskVariables: {
          metadataServicePid: String(sleeper.pid),
          metadataServiceUrl: 'http://127.0.0.1:9/x',
        },
        tempDirectory: temp,
      });
      expect(post.code).toBe(0);
      expect(post.stdout).toContain(
        `Left pid ${sleeper.pid} alone: it does not answer as the metadata service`,
      );
      expect(post.stdout).not.toContain('Stopped');
      expect(isProcessAlive(sleeper.pid ?? 0)).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('exchanges at an Entra authority that has a path (ADFS, Azure Stack), also when refreshing', async () => {
    emu.entra.authorityPath = '/adfs';
    emu.entra.tokenLifetimeSeconds = 4;
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        tokenSource: 'serviceConnection',
        provider: 'azure',
        azureSubscription: emu.serviceConnection.id,
      },
      env: agentEndpoints(emu, { authority: `${emu.entra.url}/adfs/` }),
      tempDirectory: temp,
    });
    const pid = Number(run.taskVariables.metadataServicePid);
    if (pid) started.push(pid);
    expect(run.result?.status).toBe('Succeeded');
    const tokenPath = `/adfs/${emu.entra.tenantId}/oauth2/v2.0/token`;
    expect(emu.entra.requestsTo(tokenPath)).toHaveLength(1);
    expect(run.stdout).toContain(`${emu.entra.url}${tokenPath}`);
    await new Promise((resolve) =>
      setTimeout(resolve, Date.parse(run.variables.expiresAt?.value ?? '') - Date.now() + 300),
    );
    const step = await runLaterScriptStep(run, 'databricks-oidc-token');
    expect(step.code).toBe(0);
    expect(emu.entra.requestsTo(tokenPath).length).toBeGreaterThanOrEqual(2);
    expect(emu.entra.requests.filter((r) => !r.path.startsWith('/adfs/'))).toEqual([]);
  }, 60_000);
});

describe('DatabricksOidcLogin@1, bad input', () => {
  it('explains a rejected exchange with the pipeline token claims and the policy to create', async () => {
    emu.servicePrincipal.policies.splice(1, 1); // no policy for the pipeline subject
    const message = expectFailed(
      await runTask('main', emu, {
        inputs: { mode: 'token', host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId },
        env: agentEndpoints(emu, { includeConnection: false }),
      }),
    );
    expect(message).toContain('[EXCHANGE_REJECTED]');
    expect(message).toContain(`issuer   (iss): https://vstoken.dev.azure.com/${emu.azureDevOps.orgId}`);
    expect(message).toContain('subject  (sub): p://octo-org/octo-project/deploy-pipeline');
    expect(message).toContain('audience (aud): api://AzureADTokenExchange');
    expect(message).toContain(
      `databricks account service-principal-federation-policy create SERVICE_PRINCIPAL_ID --json '{"oidc_policy":{"issuer":"https://vstoken.dev.azure.com/${emu.azureDevOps.orgId}","audiences":["api://AzureADTokenExchange"],"subject":"p://octo-org/octo-project/deploy-pipeline"}}'`,
    );
  });

  it('explains AADSTS70021 with the federated credential to add', async () => {
    const message = expectFailed(
      await runTask('main', emu, {
        inputs: {
          mode: 'token',
          host: emu.databricks.url,
          provider: 'azure',
          azureSubscription: emu.serviceConnection.id,
        },
        env: agentEndpoints(emu),
      }),
    );
    expect(message).toContain('[ENTRA_REJECTED]');
    expect(message).toContain('AADSTS70021');
    expect(message).toContain(
      `az ad app federated-credential create --id ${emu.servicePrincipal.applicationId}`,
    );
    expect(message).toContain('"subject":"p://octo-org/octo-project/deploy-pipeline"');
  });

  it('fails clearly on a missing service connection, and on one that is not workload identity federation', async () => {
    const missing = expectFailed(
      await runTask('main', emu, {
        inputs: {
          mode: 'token',
          host: emu.databricks.url,
          tokenSource: 'serviceConnection',
          azureSubscription: emu.serviceConnection.id,
        },
        env: agentEndpoints(emu, { includeConnection: false }),
      }),
    );
    expect(missing).toContain('it does not exist, or this pipeline may not use it');
    const notWif = expectFailed(
      await runTask('main', emu, {
        inputs: {
          mode: 'token',
          host: emu.databricks.url,
          tokenSource: 'serviceConnection',
          azureSubscription: emu.serviceConnection.id,
        },
        env: agentEndpoints(emu, { scheme: 'ServicePrincipal' }),
      }),
    );
    expect(notWif).toContain('its scheme is ServicePrincipal, not WorkloadIdentityFederation');
    const unauthorised = emu.serviceConnection;
    unauthorised.authorized = false;
    const refused = expectFailed(
      await runTask('main', emu, {
        inputs: {
          mode: 'token',
          host: emu.databricks.url,
          tokenSource: 'serviceConnection',
          azureSubscription: unauthorised.id,
        },
        env: agentEndpoints(emu),
      }),
    );
    expect(refused).toContain(
      'HTTP 403: Pipeline is not authorized to use service connection databricks-wif',
    );
    expect(refused).toContain('authorised for this pipeline');
    // Only the host metadata (read alongside the ID token, with no credential) reached Databricks.
    expect(emu.databricks.requests.filter((r) => r.path !== '/.well-known/databricks-config')).toEqual([]);
  });

  it('fails on a missing host, counting an unexpanded $(DATABRICKS_HOST) as empty, before any request', async () => {
    const message = expectFailed(
      await runTask('main', emu, {
        inputs: { mode: 'token', host: '$(DATABRICKS_HOST)' },
        env: agentEndpoints(emu, { includeConnection: false }),
      }),
    );
    expect(message).toContain('[HOST_MISSING]');
    expect(emu.azureDevOps.requests).toHaveLength(0);
  });

  it('fails clearly when the OIDC endpoint refuses the job token', async () => {
    const message = expectFailed(
      await runTask('main', emu, {
        inputs: { mode: 'token', host: emu.databricks.url },
        env: agentEndpoints(emu, { includeConnection: false, jobToken: 'not-the-job-token' }),
      }),
    );
    expect(message).toContain('[ID_TOKEN_REQUEST_FAILED]');
    expect(message).toContain('HTTP 401: TF400813');
    expect(emu.azureDevOps.requestsTo(oidcPath())).toHaveLength(1);
  });

  it('fails clearly on a hanging OIDC endpoint and on a malformed answer', async () => {
    for (let i = 0; i < 4; i++) emu.azureDevOps.inject({ path: oidcPath(), hang: true });
    const hang = await runTask('main', emu, {
      inputs: { mode: 'token', host: emu.databricks.url, timeoutSeconds: '1' },
      env: agentEndpoints(emu, { includeConnection: false }),
    });
    expect(expectFailed(hang)).toContain('[TIMEOUT]');
    expect(hang.durationMs).toBeLessThan(6_000);
    emu.azureDevOps.clearFaults(); // the deadline may leave a queued hang unused
    emu.azureDevOps.inject({ path: oidcPath(), status: 200, body: '<html>sign in</html>' });
    expect(
      expectFailed(
        await runTask('main', emu, {
          inputs: { mode: 'token', host: emu.databricks.url },
          env: agentEndpoints(emu, { includeConnection: false }),
        }),
      ),
    ).toContain('without an oidcToken [RESPONSE_MALFORMED]');
  });
});
