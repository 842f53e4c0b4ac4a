import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { GceMetadataServer } from '../emulators/gce-metadata.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { KubernetesApiServer } from '../emulators/kubernetes.ts';
import { generateTestCa, type TestCa } from '../emulators/test-ca.ts';
import { JWT_SHAPE, jobEnv, runCli, tempDir } from './cli-runner.ts';
import { ROOT } from './github-runner.ts';

const POD = { namespace: 'platform', name: 'oidc-broker' };
const TARGET = { namespace: 'data-jobs', name: 'databricks-deployer' };

let emu: Emulators;
let cluster: CiIssuer;
let google: CiIssuer;
let ca: TestCa;
let otherCa: TestCa;
let api: KubernetesApiServer;
let gce: GceMetadataServer;
let saDir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  emu = await startEmulators();
  cluster = await CiIssuer.create('aks');
  google = await CiIssuer.create('google');
  ca = generateTestCa();
  otherCa = generateTestCa();
  api = await KubernetesApiServer.create(cluster.jwt, ca);
  gce = await GceMetadataServer.create(google);
  for (const issuer of [cluster, google]) {
    emu.databricks.trust(issuer.jwt);
    emu.entra.trust(issuer.jwt);
  }
  emu.servicePrincipal.policies.push(
    // The minted token: the audience requested is the workspace's default.
    {
      issuer: cluster.jwt.issuer,
      audiences: [emu.databricks.workspaceTokenEndpoint],
      subject: 'system:serviceaccount:data-jobs:databricks-deployer',
    },
    {
      issuer: google.jwt.issuer,
      audiences: [emu.databricks.workspaceTokenEndpoint],
      subject: String(google.claims.sub),
    },
    // A projected token with a fixed audience.
    { issuer: cluster.jwt.issuer, audiences: ['databricks'], subject: String(cluster.claims.sub) },
  );
  emu.entra.apps[0]?.federatedCredentials.push({
    issuer: cluster.jwt.issuer,
    subject: String(cluster.claims.sub),
    audiences: ['api://AzureADTokenExchange'],
  });
  api.serviceAccounts.push(TARGET, { namespace: 'data-jobs', name: 'reader' });
  api.grant(POD, TARGET);
  api.grant(POD, { namespace: 'data-jobs', name: 'ghost' }); // granted, but no such account
});
afterAll(async () => {
  await Promise.all([emu?.stop(), api?.stop(), gce?.stop()]);
});
beforeEach(async () => {
  saDir?.remove();
  saDir = tempDir('serviceaccount-');
  writeFileSync(join(saDir.path, 'token'), `${await api.podToken(POD)}\n`);
  writeFileSync(join(saDir.path, 'ca.crt'), ca.caCert);
  writeFileSync(join(saDir.path, 'namespace'), 'data-jobs');
  return () => saDir.remove();
});

function podEnv(extra: Record<string, string> = {}): Record<string, string> {
  return jobEnv({
    DATABRICKS_HOST: emu.databricks.url,
    DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: new URL(api.url).port,
    ...extra,
  });
}

const tokenRequest = (account: string) => [
  'token',
  '--token-source',
  'kubernetes-token-request',
  '--k8s-service-account',
  account,
  '--k8s-sa-dir',
  saDir.path,
];

describe('Kubernetes TokenRequest over HTTPS, verified with the pod ca.crt', () => {
  it('mints a token for another service account with the resolved audience and exchanges it', async () => {
    const before = api.requests.length;
    const run = await runCli(tokenRequest('data-jobs/databricks-deployer'), podEnv());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      'Kubernetes TokenRequest for the service account data-jobs/databricks-deployer',
    );
    expect(emu.databricks.issuedTokens).toContain(run.stdout.trim());
    const request = api.requests[before];
    expect(request?.path).toBe('/api/v1/namespaces/data-jobs/serviceaccounts/databricks-deployer/token');
    expect(JSON.parse(request?.body ?? '{}')).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [emu.databricks.workspaceTokenEndpoint], expirationSeconds: 3600 },
    });
    expect(run.stderr).not.toMatch(JWT_SHAPE);
  });

  it('a bare NAME means the pod namespace', async () => {
    const before = api.requests.length;
    const run = await runCli(tokenRequest('databricks-deployer'), podEnv());
    expect(run.code, run.stderr).toBe(0);
    expect(api.requests[before]?.path).toBe(
      '/api/v1/namespaces/data-jobs/serviceaccounts/databricks-deployer/token',
    );
  });

  it('403 names the verb and resource to grant; 404 says the account does not exist; neither reaches Databricks', async () => {
    const exchanges = emu.databricks.requestsTo('/oidc/v1/token').length;
    const forbidden = await runCli(tokenRequest('data-jobs/reader'), podEnv());
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain(
      'the API server refused (HTTP 403: serviceaccounts "reader" is forbidden',
    );
    expect(forbidden.stderr).toContain(
      'create on the resource serviceaccounts/token for reader in namespace data-jobs',
    );
    expect(forbidden.stderr).toContain('[ID_TOKEN_REQUEST_FAILED]');
    const missing = await runCli(tokenRequest('data-jobs/ghost'), podEnv());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the service account data-jobs/ghost was not found (HTTP 404');
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(exchanges);
    expect(forbidden.stderr + missing.stderr).not.toMatch(JWT_SHAPE);
  });

  it('a namespace file that is not a DNS-1123 label is one clear error before any request (issue 19)', async () => {
    const before = api.requests.length;
    for (const namespace of [
      'kube-system/serviceaccounts/cluster-admin-sa/token?x=',
      'Data-Jobs',
      '../x',
      'a'.repeat(64),
    ]) {
      writeFileSync(join(saDir.path, 'namespace'), namespace);
      const run = await runCli(tokenRequest('databricks-deployer'), podEnv());
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('[INPUT_INVALID]');
      expect(run.stderr).toContain('is not a Kubernetes namespace (a DNS-1123 label)');
    }
    expect(api.requests).toHaveLength(before);
  });

  it('a wrong CA fails before any token request', async () => {
    writeFileSync(join(saDir.path, 'ca.crt'), otherCa.caCert);
    const before = api.requests.length;
    const exchanges = emu.databricks.requestsTo('/oidc/v1/token').length;
    const run = await runCli(tokenRequest('data-jobs/databricks-deployer'), podEnv());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`does not verify against ${join(saDir.path, 'ca.crt')}`);
    expect(run.stderr).toContain('[NETWORK_ERROR]');
    expect(api.requests.length).toBe(before); // TLS failed: the API server saw no request, so no token was asked for
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(exchanges);
    expect(run.stderr).not.toMatch(JWT_SHAPE);
  });
});

describe('projected tokens, Azure Workload Identity and the GCE metadata server', () => {
  it('kubernetes: a projected token file with a fixed audience, detected in a pod', async () => {
    const projected = join(saDir.path, 'databricks-token');
    writeFileSync(projected, await cluster.mint('databricks', 600));
    const run = await runCli(['token', '--token-file', projected, '--token-source', 'kubernetes'], podEnv());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`Kubernetes (the service-account token ${projected})`);
    expect(emu.databricks.issuedTokens).toContain(run.stdout.trim());

    // Auto-detection: KUBERNETES_SERVICE_HOST and the pod token (whose audience no policy lists).
    const explain = await runCli(['explain', '--k8s-sa-dir', saDir.path], podEnv());
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('auto-detected: KUBERNETES_SERVICE_HOST is set');
    expect(explain.stdout).toContain('never https://kubernetes.default.svc');
    expect(explain.stdout).toContain('jwks_json');
  });

  it('azure-workload-identity: AKS webhook variables mean Entra ID with the managed identity', async () => {
    const tokenFile = join(saDir.path, 'azure-identity-token');
    writeFileSync(tokenFile, await cluster.mint('api://AzureADTokenExchange', 3600));
    const run = await runCli(
      ['token', '--json'],
      jobEnv({
        DATABRICKS_HOST: emu.databricks.url,
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        AZURE_FEDERATED_TOKEN_FILE: tokenFile,
        AZURE_CLIENT_ID: emu.servicePrincipal.applicationId,
        AZURE_TENANT_ID: emu.entra.tenantId,
        AZURE_AUTHORITY_HOST: `${emu.entra.url}/`,
      }),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('auto-detected: AZURE_FEDERATED_TOKEN_FILE is set');
    expect(run.stderr).toContain('using provider azure');
    expect(run.stderr).toContain(
      `Verified: the workspace knows this token as ${emu.servicePrincipal.applicationId}`,
    );
    const sent = emu.entra.requests.at(-1);
    expect(sent?.form.get('client_id')).toBe(emu.servicePrincipal.applicationId);
    expect(sent?.path).toBe(`/${emu.entra.tenantId}/oauth2/v2.0/token`);
    expect(run.stderr).not.toMatch(JWT_SHAPE);
  });

  it('gcp-metadata: a Google ID token from the metadata server, for the resolved audience', async () => {
    const run = await runCli(
      ['token', '--token-source', 'gcp-metadata'],
      podEnv({ GCE_METADATA_HOST: gce.hostPort }),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(gce.requests.at(-1)?.query.get('audience')).toBe(emu.databricks.workspaceTokenEndpoint);
    expect(gce.requests.at(-1)?.query.get('format')).toBe('full');
    expect(emu.databricks.issuedTokens).toContain(run.stdout.trim());
    // Plain http to anything but the metadata server or loopback is refused before any request.
    const far = await runCli(
      ['token', '--token-source', 'gcp-metadata'],
      podEnv({ GCE_METADATA_HOST: 'evil.example:80' }),
    );
    expect(far.code).toBe(1);
    expect(far.stderr).toContain('[HOST_INSECURE]');
  });

  it('gcp-metadata with --provider google: the Google ID token for the workspace URL is used as it is', async () => {
    const email = String(google.claims.email);
    emu.databricks.acceptGoogleIdTokens({
      jwks: google.jwt.jwks,
      users: [email],
      isAccessToken: () => false,
    });
    const exchangesBefore = emu.databricks.requestsTo('/oidc/v1/token').length;
    const run = await runCli(
      ['token', '--token-source', 'gcp-metadata', '--provider', 'google'],
      podEnv({ GCE_METADATA_HOST: gce.hostPort }),
    );
    expect(run.code, run.stderr).toBe(0);
    // The token is minted for the workspace URL itself, and nothing is exchanged.
    expect(gce.requests.at(-1)?.query.get('audience')).toBe(emu.databricks.url);
    expect(run.stdout.trim()).toBe(gce.issued.at(-1));
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(exchangesBefore);
    expect(run.stderr).toContain(`Verified: the workspace knows this token as ${email}`);
    expect(run.stderr).not.toMatch(JWT_SHAPE);

    // exec: the real SDK inside the child, through the in-process metadata service.
    const exec = await runCli(
      [
        'exec',
        '--token-source',
        'gcp-metadata',
        '--provider',
        'google',
        '--',
        process.execPath,
        join(ROOT, 'test', 'e2e', 'sdk-me.mjs'),
      ],
      podEnv({ GCE_METADATA_HOST: gce.hostPort }),
    );
    expect(exec.code, exec.stderr).toBe(0);
    expect(JSON.parse(exec.stdout)).toEqual({ userName: email });

    // Another source gives no Google ID tokens: provider google then needs the STS settings.
    const other = await runCli(
      ['token', '--token-source', 'kubernetes', '--provider', 'google', '--k8s-sa-dir', saDir.path],
      podEnv(),
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('provider google needs workload-identity-provider and service-account');
  });
});
