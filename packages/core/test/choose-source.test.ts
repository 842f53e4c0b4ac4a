import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseIdTokenSource, LoginError, setUpWorkloadLogin } from '../src/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function podDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sa-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'token'), 'x.y.z');
  return dir;
}

describe('token source auto-detection', () => {
  it('goes down the table: CI sources first, then DATABRICKS_OIDC_TOKEN, then the Kubernetes sources', () => {
    const saDir = podDir();
    const pod = { KUBERNETES_SERVICE_HOST: '10.0.0.1', AZURE_FEDERATED_TOKEN_FILE: '/t' };
    const pick = (env: NodeJS.ProcessEnv) => chooseIdTokenSource({ env, k8sServiceAccountDir: saDir }).name;
    expect(pick(pod)).toBe('azure-workload-identity');
    expect(pick({ KUBERNETES_SERVICE_HOST: '10.0.0.1' })).toBe('kubernetes');
    expect(pick({ ...pod, DATABRICKS_OIDC_TOKEN: 'x.y.z' })).toBe('env');
    expect(pick({ ...pod, DATABRICKS_OIDC_TOKEN: 'x.y.z', GITLAB_CI: 'true' })).toBe('gitlab');
    expect(pick({ ...pod, BUILDKITE: 'true', TFC_WORKLOAD_IDENTITY_TOKEN: 'x.y.z' })).toBe('buildkite');
    expect(
      pick({
        ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x',
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't',
        GITLAB_CI: '1',
        DATABRICKS_OIDC_TOKEN: 'x',
      }),
    ).toBe('github');
    // A given --token-file or --token-env decides.
    expect(chooseIdTokenSource({ env: pod, tokenFile: '/f' }).name).toBe('file');
    expect(chooseIdTokenSource({ env: { ...pod, GITLAB_CI: '1' }, tokenEnv: 'MY_TOKEN' }).name).toBe('env');
  });

  it('never picks kubernetes-token-request or gcp-metadata by itself', () => {
    expect(() =>
      chooseIdTokenSource({ env: { GCE_METADATA_HOST: '127.0.0.1:1' }, k8sServiceAccount: 'ns/sa' }),
    ).toThrow(/no token source was detected/);
  });

  it('a named source with a missing prerequisite is an error, not a fallback', () => {
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' };
    for (const tokenSource of [
      'gitlab',
      'circleci',
      'buildkite',
      'azure-workload-identity',
      'kubernetes-token-request',
      'file',
      'azure-devops',
    ]) {
      const error = (() => {
        try {
          chooseIdTokenSource({ env, tokenSource });
        } catch (e) {
          return e;
        }
      })();
      expect(error, tokenSource).toBeInstanceOf(LoginError);
      expect((error as LoginError).code).toBe('ID_TOKEN_UNAVAILABLE');
    }
  });

  it('Azure Workload Identity implies provider azure with the webhook settings; flags win', () => {
    const env = {
      AZURE_FEDERATED_TOKEN_FILE: '/t',
      AZURE_CLIENT_ID: 'webhook-client',
      AZURE_TENANT_ID: 'webhook-tenant',
      AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
      DATABRICKS_CLIENT_ID: 'databricks-client',
    };
    expect(setUpWorkloadLogin({}, env).options).toMatchObject({
      provider: 'azure',
      clientId: 'webhook-client',
      tenantId: 'webhook-tenant',
    });
    expect(setUpWorkloadLogin({ clientId: 'flag', tenantId: 'flag-tenant' }, env).options).toMatchObject({
      clientId: 'flag',
      tenantId: 'flag-tenant',
    });
    // Told otherwise: Databricks federation with the Databricks service principal.
    expect(setUpWorkloadLogin({ provider: 'databricks' }, env).options).toMatchObject({
      provider: 'databricks',
      clientId: 'databricks-client',
    });
  });
});
