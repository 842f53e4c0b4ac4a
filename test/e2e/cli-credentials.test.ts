import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import {
  type Emulators,
  type GoogleCloud,
  type PoolProvider,
  poolName,
  providerName,
  startEmulators,
  startGoogleCloud,
} from '../emulators/index.ts';
import { JWT_SHAPE, jobEnv, runCli, tempDir } from './cli-runner.ts';
import { ROOT } from './github-runner.ts';
import type { NodeRun } from './node-process.ts';

// The command-line tool's credentials beyond Databricks federation, from the built bundle:
// --auth-type auto/oidc/m2m/pat (issue 12) and --provider google (issue 13).

const CLIENT_SECRET = 'dose0123456789abcdef0123456789abcdef';
const GITLAB_AUD = 'https://databricks.example/gitlab';
const SERVICE_ACCOUNT = 'databricks-deployer@my-project.iam.gserviceaccount.com';
const SDK_ME = join(ROOT, 'test', 'e2e', 'sdk-me.mjs');

let gitlab: CiIssuer;
let emu: Emulators | undefined;
let gcp: GoogleCloud | undefined;
let home: ReturnType<typeof tempDir> | undefined;

beforeAll(async () => {
  gitlab = await CiIssuer.create('gitlab');
});

/**
 * A workspace whose service principal has an OAuth secret and a federation policy for the
 * GitLab project's token (aud GITLAB_AUD). GitHub's and Azure DevOps' emulators run too but the
 * job environment never points at them: no token source unless a test adds one.
 */
beforeEach(async () => {
  emu = await startEmulators();
  emu.servicePrincipal.oauthSecrets = [CLIENT_SECRET];
  emu.databricks.trust(gitlab.jwt);
  emu.servicePrincipal.policies.push({
    issuer: gitlab.jwt.issuer,
    audiences: [GITLAB_AUD],
    subject: String(gitlab.claims.sub),
  });
  home = tempDir('cli-credentials-home-');
});

afterEach(async () => {
  const stopping = [emu?.stop(), gcp?.stop()];
  emu = undefined;
  gcp = undefined;
  try {
    home?.remove();
  } finally {
    home = undefined;
    await Promise.all(stopping);
  }
});

function emulators(): Emulators {
  if (!emu) throw new Error('the emulators are not running');
  return emu;
}

function googleCloud(): GoogleCloud {
  if (!gcp) throw new Error('Google Cloud is not running');
  return gcp;
}

/** A job with no token source at all: only PATH, a throwaway HOME and what the test adds. */
function bareJob(extra: Record<string, string>): Record<string, string> {
  return { ...jobEnv(extra), HOME: home?.path ?? '' };
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Lines the tool wrote as warnings. */
const warnings = (run: NodeRun) => run.stderr.split('\n').filter((l) => l.startsWith('warning: '));

/** Every request any emulator of the Databricks side received. */
function everyRequest() {
  const e = emulators();
  return [...e.github.requests, ...e.databricks.requests, ...e.entra.requests, ...e.azureDevOps.requests];
}

/** The secret (and the Basic credential built from it) never shows, on either stream. */
function expectNeverShows(run: NodeRun, secret: string): void {
  const encoded = basic(emulators().servicePrincipal.applicationId, secret).slice('Basic '.length);
  for (const value of [secret, encoded]) {
    expect(run.stdout).not.toContain(value);
    expect(run.stderr).not.toContain(value);
  }
}

function expectFailed(run: NodeRun): void {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).not.toMatch(/\n\s+at /); // one clear error, no stack
}

describe('databricks-oidc-login --auth-type (issue 12)', () => {
  function databricksEnv(extra: Record<string, string> = {}): Record<string, string> {
    const e = emulators();
    return bareJob({
      DATABRICKS_HOST: e.databricks.url,
      DATABRICKS_CLIENT_ID: e.servicePrincipal.applicationId,
      ...extra,
    });
  }

  it('auto with a client secret and no token source: OAuth M2M, one warning that says why, the secret never shows', async () => {
    const e = emulators();
    const run = await runCli(['token'], databricksEnv({ DATABRICKS_CLIENT_SECRET: CLIENT_SECRET }));
    expect(run.code, run.stderr).toBe(0);

    const requests = e.databricks.clientCredentialsRequests;
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers.authorization).toBe(basic(e.servicePrincipal.applicationId, CLIENT_SECRET));
    expect(Object.fromEntries(requests[0]?.form ?? [])).toEqual({
      grant_type: 'client_credentials',
      scope: 'all-apis',
    });
    expect(run.stdout).toBe(`${e.databricks.issuedTokens.at(-1)}\n`);
    expect(e.databricks.issuedTokens).toHaveLength(1);

    const [warning, ...more] = warnings(run);
    expect(more).toEqual([]);
    expect(warning).toContain(
      'OIDC is not possible in this job (Failed to find an ID token: no token source was detected)',
    );
    expect(warning).toContain('To use OIDC, which needs no stored secret: Name one with --token-source');
    expect(warning).toContain(
      `--auth-type auto falls back to OAuth M2M with the secret of service principal ${e.servicePrincipal.applicationId}`,
    );
    expect(run.stderr).toContain(
      `Verified: the workspace knows this token as ${e.servicePrincipal.applicationId}`,
    );
    expect(run.stderr).not.toMatch(JWT_SHAPE);
    expectNeverShows(run, CLIENT_SECRET);
    expect(e.github.requests).toEqual([]);
  });

  it('auto with a client secret and a GitLab ID token: OIDC, not a single client-credentials request', async () => {
    const e = emulators();
    const idToken = await gitlab.mint(GITLAB_AUD);
    const run = await runCli(
      ['token'],
      databricksEnv({
        DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
        GITLAB_CI: 'true',
        DATABRICKS_OIDC_TOKEN: idToken,
      }),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(e.databricks.clientCredentialsRequests).toEqual([]);
    const exchanges = e.databricks.requestsTo('/oidc/v1/token');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]?.form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:token-exchange');
    expect(exchanges[0]?.form.get('subject_token')).toBe(idToken);
    expect(run.stdout).toBe(`${e.databricks.issuedTokens.at(-1)}\n`);
    expect(warnings(run)).toEqual([]);
    expect(run.stderr).toContain(
      '--auth-type auto: using OIDC, the strongest method; DATABRICKS_CLIENT_SECRET not used.',
    );
    expect(run.stderr).not.toMatch(JWT_SHAPE);
    expectNeverShows(run, CLIENT_SECRET);
  });

  it('explicit oidc with no token source: ID_TOKEN_UNAVAILABLE before any request, even with a secret at hand', async () => {
    const run = await runCli(
      ['token', '--auth-type', 'oidc'],
      databricksEnv({ DATABRICKS_CLIENT_SECRET: CLIENT_SECRET }),
    );
    expectFailed(run);
    expect(run.stderr).toContain(
      'Failed to find an ID token: no token source was detected [ID_TOKEN_UNAVAILABLE]',
    );
    expect(run.stderr).toContain('Fix: Name one with --token-source');
    expect(warnings(run)).toEqual([]); // an explicit oidc is an error, not a fallback warning
    expect(everyRequest()).toEqual([]);
    expectNeverShows(run, CLIENT_SECRET);
  });

  it('explicit m2m without DATABRICKS_CLIENT_SECRET: CREDENTIALS_MISSING before any request, never a downgrade to the ID token', async () => {
    const run = await runCli(
      ['token', '--auth-type', 'm2m'],
      databricksEnv({ GITLAB_CI: 'true', DATABRICKS_OIDC_TOKEN: await gitlab.mint(GITLAB_AUD) }),
    );
    expectFailed(run);
    expect(run.stderr).toContain(
      'Failed to use --auth-type m2m: DATABRICKS_CLIENT_SECRET is empty [CREDENTIALS_MISSING]',
    );
    expect(everyRequest()).toEqual([]);
  });

  it('auto with only DATABRICKS_TOKEN: the PAT, verified with SCIM Me, printed with expires_at null, called legacy', async () => {
    const e = emulators();
    const pat = e.databricks.createPersonalAccessToken('someone@example.com');
    const run = await runCli(['token', '--json'], databricksEnv({ DATABRICKS_TOKEN: pat }));
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ access_token: pat, expires_at: null });

    const me = e.databricks.requestsTo('/api/2.0/preview/scim/v2/Me');
    expect(me).toHaveLength(1);
    expect(me[0]?.headers.authorization).toBe(`Bearer ${pat}`);
    expect(e.databricks.clientCredentialsRequests).toEqual([]);
    expect(e.databricks.requestsTo('/oidc/v1/token')).toEqual([]);
    expect(run.stderr).toContain('Verified: the workspace knows this token as someone@example.com');

    const [warning, ...more] = warnings(run);
    expect(more).toEqual([]);
    expect(warning).toContain('OIDC is not possible in this job');
    expect(warning).toContain('--auth-type auto falls back to the personal access token in DATABRICKS_TOKEN');
    expect(run.stderr).toContain('legacy method');
    expect(run.stderr).not.toContain(pat);
  });

  it('nothing at all: one CREDENTIALS_MISSING error naming OIDC, M2M (DATABRICKS_CLIENT_SECRET) and a PAT (DATABRICKS_TOKEN)', async () => {
    const run = await runCli(['token'], databricksEnv());
    expectFailed(run);
    expect(run.stderr).toContain(
      'Failed to find credentials: this job has no ID token, no client secret and no personal access token [CREDENTIALS_MISSING]',
    );
    expect(run.stderr).toContain('1) OIDC:');
    expect(run.stderr).toContain('2) OAuth M2M: set --client-id');
    expect(run.stderr).toContain('DATABRICKS_CLIENT_SECRET');
    expect(run.stderr).toContain('3) A personal access token in DATABRICKS_TOKEN');
    // The evidence: what was looked at for each of the three.
    expect(run.stderr).toContain('OIDC: Failed to find an ID token: no token source was detected');
    expect(run.stderr).toContain('OAuth M2M: DATABRICKS_CLIENT_SECRET is empty');
    expect(run.stderr).toContain('PAT: DATABRICKS_TOKEN is empty');
    expect(everyRequest()).toEqual([]);
  });

  it('exec with OAuth M2M: the real SDK in the child gets the service principal from the in-process metadata service', async () => {
    const e = emulators();
    const run = await runCli(
      ['exec', '--', process.execPath, SDK_ME],
      databricksEnv({ DATABRICKS_CLIENT_SECRET: CLIENT_SECRET }),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ userName: e.servicePrincipal.applicationId });
    expect(run.stderr).toContain('DATABRICKS_AUTH_TYPE=metadata-service');
    expect(e.databricks.clientCredentialsRequests.length).toBeGreaterThanOrEqual(1);
    // The SDK's own call (after the tool's check) carried a token the workspace issued via M2M.
    const me = e.databricks.requestsTo('/api/2.0/preview/scim/v2/Me');
    expect(me.length).toBeGreaterThanOrEqual(2);
    const bearer = me.at(-1)?.headers.authorization?.replace(/^Bearer /, '');
    expect(e.databricks.issuedTokens).toContain(bearer);
    expect(warnings(run)[0]).toContain('falls back to OAuth M2M');
    expect(run.stderr).not.toMatch(JWT_SHAPE);
    expectNeverShows(run, CLIENT_SECRET);
  });

  it('a named source that is missing (--token-source gitlab) fails, with no fallback to the client secret', async () => {
    const run = await runCli(
      ['token', '--token-source', 'gitlab'],
      databricksEnv({ DATABRICKS_CLIENT_SECRET: CLIENT_SECRET, GITLAB_CI: 'true' }),
    );
    expectFailed(run);
    expect(run.stderr).toContain(
      'Failed to get an ID token: the environment variable DATABRICKS_OIDC_TOKEN is empty [ID_TOKEN_UNAVAILABLE]',
    );
    expect(emulators().databricks.clientCredentialsRequests).toEqual([]);
    // Only the host metadata, read alongside the ID token with no credential, went out.
    expect(everyRequest().filter((r) => r.path !== '/.well-known/databricks-config')).toEqual([]);
    expectNeverShows(run, CLIENT_SECRET);
  });
});

describe('databricks-oidc-login --provider google (issue 13)', () => {
  let gitlabProvider: PoolProvider;

  /**
   * A Google Cloud project whose pool has a GitLab provider (admitting only octo-group/octo-project),
   * a service account that project may impersonate, and a workspace where it is a user.
   */
  beforeEach(async () => {
    const e = emulators();
    gcp = await startGoogleCloud();
    gcp.sts.trust(gitlab.jwt);
    gitlabProvider = {
      projectNumber: '123456789012',
      pool: 'ci-pool',
      provider: 'gitlab',
      issuer: gitlab.jwt.issuer,
      attributeMapping: {
        'google.subject': 'assertion.sub',
        'attribute.project_path': 'assertion.project_path',
      },
      attributeCondition: "assertion.project_path == 'octo-group/octo-project'",
    };
    gcp.sts.providers.push(gitlabProvider);
    const members = [
      `principalSet://iam.googleapis.com/${poolName(gitlabProvider)}/attribute.project_path/octo-group/octo-project`,
    ];
    gcp.iam.addServiceAccount(SERVICE_ACCOUNT, [
      { role: 'roles/iam.workloadIdentityUser', members },
      { role: 'roles/iam.serviceAccountOpenIdTokenCreator', members },
    ]);
    const iam = gcp.iam;
    e.databricks.acceptGoogleIdTokens({
      jwks: iam.jwks,
      users: [SERVICE_ACCOUNT],
      isAccessToken: (token) => iam.isAccessToken(token),
    });
  });

  /** The GitLab job's id_tokens entry, with the audience the provider allows by default. */
  async function googleJob(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const idToken = await gitlab.mint(`https://iam.googleapis.com/${providerName(gitlabProvider)}`);
    return bareJob({
      DATABRICKS_HOST: emulators().databricks.url,
      GITLAB_CI: 'true',
      DATABRICKS_OIDC_TOKEN: idToken,
      ...googleCloud().env,
      ...extra,
    });
  }

  const googleFlags = () => [
    '--provider',
    'google',
    '--workload-identity-provider',
    providerName(gitlabProvider),
    '--service-account',
    SERVICE_ACCOUNT,
  ];

  /** No Google credential and no JWT at all reaches stderr. */
  function expectNoGoogleTokenOnStderr(run: NodeRun): void {
    const g = googleCloud();
    expect(run.stderr).not.toMatch(JWT_SHAPE);
    for (const token of [...g.sts.federatedTokens.keys(), ...g.iam.idTokens, ...g.iam.accessTokens])
      expect(run.stderr).not.toContain(token);
  }

  it('token: the Google ID token IAM Credentials minted for the workspace, SCIM Me verified, no Databricks exchange', async () => {
    const e = emulators();
    const g = googleCloud();
    const env = await googleJob();
    const run = await runCli(['token', ...googleFlags()], env);
    expect(run.code, run.stderr).toBe(0);

    const sts = g.sts.requestsTo('/v1/token');
    expect(sts).toHaveLength(1);
    expect(JSON.parse(sts[0]?.body ?? '{}')).toMatchObject({
      audience: `//iam.googleapis.com/${providerName(gitlabProvider)}`,
      subjectToken: env.DATABRICKS_OIDC_TOKEN,
    });
    expect(g.iam.requests.map((r) => r.path)).toEqual([
      `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateIdToken`,
    ]);
    expect(JSON.parse(g.iam.requests[0]?.body ?? '{}')).toEqual({
      audience: e.databricks.url,
      includeEmail: true,
    });
    const idToken = g.iam.idTokens[0] ?? '';
    expect(g.iam.idTokens).toHaveLength(1);
    expect(run.stdout).toBe(`${idToken}\n`);
    expect(e.databricks.requestsTo(/\/oidc\//)).toEqual([]);
    expect(e.databricks.issuedTokens).toEqual([]);
    const me = e.databricks.requestsTo('/api/2.0/preview/scim/v2/Me');
    expect(me).toHaveLength(1);
    expect(me[0]?.headers.authorization).toBe(`Bearer ${idToken}`);
    expect(run.stderr).toContain(`Verified: the workspace knows this token as ${SERVICE_ACCOUNT}`);
    expectNoGoogleTokenOnStderr(run);
  });

  it('token --google-access-token --account-id: the access token from generateAccessToken; without --provider google, a clear error', async () => {
    const e = emulators();
    const g = googleCloud();
    const run = await runCli(
      ['token', '--google-access-token', '--account-id', e.databricks.accountId, ...googleFlags()],
      await googleJob(),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(g.iam.requests.map((r) => r.path)).toEqual([
      `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateIdToken`,
      `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
    ]);
    expect(g.iam.accessTokens).toHaveLength(1);
    const accessToken = g.iam.accessTokens[0] ?? '';
    expect(run.stdout).toBe(`${accessToken}\n`);
    expect(g.iam.isAccessToken(accessToken)).toBe(true);
    expect(run.stdout).not.toContain(g.iam.idTokens[0]);
    expectNoGoogleTokenOnStderr(run);

    const stsBefore = g.sts.requests.length;
    const databricksBefore = e.databricks.requests.length;
    const wrong = await runCli(
      ['token', '--google-access-token', '--account-id', e.databricks.accountId],
      await googleJob(),
    );
    expectFailed(wrong);
    expect(wrong.stderr).toContain('--google-access-token needs --provider google');
    expect(wrong.stderr).toContain('[INPUT_INVALID]');
    expect(g.sts.requests).toHaveLength(stsBefore);
    expect(e.databricks.requests).toHaveLength(databricksBefore);
    expectNoGoogleTokenOnStderr(wrong);
  });

  it('an expired Google ID token from IAM Credentials is TOKEN_EXPIRED, not printed (issue 19)', async () => {
    const g = googleCloud();
    g.iam.idTokenLifetimeSeconds = -3600;
    const run = await runCli(['token', '--no-verify', ...googleFlags()], await googleJob());
    expectFailed(run);
    expect(run.stderr).toContain('[TOKEN_EXPIRED]');
    expect(run.stderr).toContain('generateIdToken');
    expectNoGoogleTokenOnStderr(run);
  });

  it('a Google STS or IAM answer whose token is not token-shaped is RESPONSE_MALFORMED (issue 19)', async () => {
    const g = googleCloud();
    g.sts.inject({ path: '/v1/token', status: 200, body: JSON.stringify({ access_token: "ya29.'$(id)'" }) });
    const sts = await runCli(['token', '--no-verify', ...googleFlags()], await googleJob());
    expectFailed(sts);
    expect(sts.stderr).toContain('[RESPONSE_MALFORMED]');
    expect(sts.stderr).toContain('with an access_token that is not a token');
    const idTokenPath = `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateIdToken`;
    g.iam.inject({
      path: idTokenPath,
      status: 200,
      body: JSON.stringify({ token: '##vso[task.complete]x' }),
    });
    const iam = await runCli(['token', '--no-verify', ...googleFlags()], await googleJob());
    expectFailed(iam);
    expect(iam.stderr).toContain('[RESPONSE_MALFORMED]');
    expect(iam.stderr).not.toContain('##vso[');
  });

  it('exec: the real SDK in the child sees the service account', async () => {
    const g = googleCloud();
    const run = await runCli(['exec', ...googleFlags(), '--', process.execPath, SDK_ME], await googleJob());
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ userName: SERVICE_ACCOUNT });
    expect(run.stderr).toContain('DATABRICKS_AUTH_TYPE=metadata-service');
    // The SDK's call carried a Google ID token from IAM Credentials.
    const bearer = emulators()
      .databricks.requestsTo('/api/2.0/preview/scim/v2/Me')
      .at(-1)
      ?.headers.authorization?.replace(/^Bearer /, '');
    expect(g.iam.idTokens).toContain(bearer);
    expectNoGoogleTokenOnStderr(run);
  });

  it('a pool whose provider does not trust the issuer: GOOGLE_STS_REJECTED with the diagnostics, no token printed', async () => {
    const g = googleCloud();
    gitlabProvider.issuer = 'https://gitlab.example.internal'; // a self-managed GitLab, not gitlab.com
    const run = await runCli(['token', ...googleFlags()], await googleJob());
    expectFailed(run);
    expect(run.stderr).toContain('Failed to exchange the ID token at Google STS: Google STS refused it');
    expect(run.stderr).toContain('[GOOGLE_STS_REJECTED]');
    expect(run.stderr).toContain('provider gitlab of pool ci-pool in project 123456789012');
    expect(run.stderr).toContain(`(iss): ${gitlab.jwt.issuer}`);
    expect(g.sts.rejections).toEqual([`issuer ${gitlab.jwt.issuer} != https://gitlab.example.internal`]);
    expect(g.iam.requests).toEqual([]);
    expect(emulators().databricks.requests.map((r) => r.path)).toEqual(['/.well-known/databricks-config']);
    expectNoGoogleTokenOnStderr(run);
  });
});
