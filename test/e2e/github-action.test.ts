import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { runActionStep, runSdkMe, type StepRun } from './github-runner.ts';

let emu: Emulators;
afterEach(async () => {
  await emu?.stop();
});

/** Asserts that a secret was masked first and never shows in anything a log reader sees. */
function expectNeverVisible(run: StepRun, secret: string): void {
  expect(run.visibleOutput).not.toContain(secret);
  expect(run.stderr).not.toContain(secret);
  expect(run.summary).not.toContain(secret);
}

function expectFailedCleanly(run: StepRun): string {
  expect(run.code).not.toBe(0);
  expect(run.errors).toHaveLength(1);
  expect(run.exportedEnv).toEqual({});
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  return run.errors[0] ?? '';
}

describe('GitHub Action, mode token', () => {
  beforeEach(async () => {
    emu = await startEmulators();
  });

  it('exchanges the job token at the workspace and exports a token the real SDK can use', async () => {
    const run = await runActionStep('main', {
      inputs: {
        host: `${emu.databricks.url}/?o=1234567890`,
        'client-id': emu.servicePrincipal.applicationId,
      },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);

    const token = emu.databricks.issuedTokens.at(-1) ?? '';
    const idToken = emu.github.issued.at(-1) ?? '';
    expect(token).not.toBe('');
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_TOKEN: token,
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    expect(run.outputs.host).toBe(emu.databricks.url);
    expect(run.outputs.token).toBe(token);
    expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
    expect(Date.parse(run.outputs['expires-at'] ?? '')).toBeGreaterThan(Date.now());

    // Both secrets are masked before anything could print them, and never appear unmasked.
    expect(run.masks).toContain(token);
    expect(run.masks).toContain(idToken);
    expectNeverVisible(run, token);
    expectNeverVisible(run, idToken);

    // The audience defaults to the token endpoint, as the Databricks SDKs do.
    const idRequest = emu.github.requestsTo('/idtoken/job')[0];
    expect(idRequest?.query.get('audience')).toBe(`${emu.databricks.url}/oidc/v1/token`);
    expect(idRequest?.query.get('api-version')).toBe('2.0');

    // The exact form sent to the token endpoint.
    const exchanges = emu.databricks.requestsTo('/oidc/v1/token');
    expect(exchanges).toHaveLength(1);
    expect(Object.fromEntries(exchanges[0]?.form ?? [])).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: idToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: 'all-apis',
      client_id: emu.servicePrincipal.applicationId,
    });

    // The transcript tells the story in plain words.
    expect(run.stdout).toContain('subject  (sub): repo:octo-org/octo-repo:environment:prod');
    expect(run.stdout).toContain('issuer   (iss): https://token.actions.githubusercontent.com');
    expect(run.stdout).toContain('repository: octo-org/octo-repo');
    expect(run.stdout).toContain(
      `Verified: the workspace knows this token as ${emu.servicePrincipal.applicationId}`,
    );
    expect(run.stdout).toMatch(
      /expires at .* \(in (4 min 5\d|5 min 0) s\)\. For longer steps .* use mode: refresh/,
    );

    // The job summary has the facts, not the token.
    expect(run.summary).toContain(emu.databricks.url);
    expect(run.summary).toContain('repo:octo-org/octo-repo:environment:prod');
    expect(run.summary).toContain(emu.servicePrincipal.applicationId);

    // A later step: the real SDK, configured only by what was exported.
    const sdk = await runSdkMe(run.exportedEnv);
    expect(sdk.error).toBeUndefined();
    expect(sdk.userName).toBe(emu.servicePrincipal.applicationId);
  });
});
