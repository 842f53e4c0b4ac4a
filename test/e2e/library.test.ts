import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from '../emulators/loopback-server.ts';
import { generateTestCa } from '../emulators/test-ca.ts';
import { JWT_SHAPE, jobEnv, tempDir } from './cli-runner.ts';
import { ROOT } from './github-runner.ts';
import { runNodeScript } from './node-process.ts';

/** A SQL warehouse's Thrift endpoint over HTTPS that only records what the driver sends. */
class WarehouseEndpoint extends LoopbackServer {
  protected handle(_request: RecordedRequest): Reply {
    return { status: 403, body: { error_code: 'PERMISSION_DENIED', message: 'recorded by the test' } };
  }
}

const AUDIENCE = 'databricks';
let emu: Emulators;
let warehouse: WarehouseEndpoint;
let dir: ReturnType<typeof tempDir>;

beforeEach(async () => {
  emu = await startEmulators();
  dir = tempDir('library-');
  const ca = generateTestCa();
  writeFileSync(join(dir.path, 'ca.crt'), ca.caCert);
  warehouse = await new WarehouseEndpoint().start({ key: ca.serverKey, cert: ca.serverCert });
});
afterEach(async () => {
  await Promise.all([emu.stop(), warehouse.stop()]);
  dir.remove();
});

describe('library API (@databricks-oidc-login/core)', () => {
  it('createTokenProvider feeds the real @databricks/sql driver and the fetch helper with our token', async () => {
    const cluster = await CiIssuer.create('aks');
    emu.databricks.trust(cluster.jwt);
    emu.servicePrincipal.policies.push({
      issuer: cluster.jwt.issuer,
      audiences: [AUDIENCE],
      subject: String(cluster.claims.sub),
    });
    const tokenFile = join(dir.path, 'token');
    writeFileSync(tokenFile, await cluster.mint(AUDIENCE, 600));

    const run = await runNodeScript(
      join(ROOT, 'test', 'e2e', 'library-sql.mjs'),
      jobEnv({
        DATABRICKS_HOST: emu.databricks.url,
        DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
        TOKEN_FILE: tokenFile,
        WAREHOUSE_PORT: new URL(warehouse.url).port,
        WAREHOUSE_CA: join(dir.path, 'ca.crt'),
      }),
      { cwd: ROOT, timeoutMs: 45_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT ')) ?? 'RESULT {}';
    const result = JSON.parse(line.slice('RESULT '.length)) as { userName: string; sqlError?: string };
    // The fetch helper: SCIM Me with our token, on the host from DATABRICKS_HOST.
    expect(result.userName).toBe(emu.servicePrincipal.applicationId);
    // One exchange served both clients: the provider caches.
    expect(emu.databricks.issuedTokens).toHaveLength(1);
    const token = emu.databricks.issuedTokens[0];
    // The SQL driver sent exactly our token to the warehouse's Thrift path.
    const thrift = warehouse.requestsTo('/sql/1.0/warehouses/0123456789abcdef');
    expect(thrift.length).toBeGreaterThan(0);
    for (const request of thrift) expect(request.headers.authorization).toBe(`Bearer ${token}`);
    expect(result.sqlError).toBeTruthy();
    expect(run.stdout + run.stderr).not.toMatch(JWT_SHAPE);
  });

  it('on a unified host, the fetch helper names the workspace given by DATABRICKS_WORKSPACE_ID', async () => {
    await emu.stop();
    const account = '0f0e0d0c-0b0a-4909-8807-060504030201';
    emu = await startEmulators({
      databricks: { shape: 'unified', accountId: account, workspaceId: '1618033988749894' },
      policyAudience: account,
    });
    const script = [
      "import { authorizedFetch, createTokenProvider } from './packages/core/dist/index.js';",
      'const provider = createTokenProvider();',
      "const answer = await authorizedFetch(provider)('/api/2.0/preview/scim/v2/Me');",
      'process.stdout.write(JSON.stringify({ status: answer.status, type: answer.headers.get("content-type"), body: await answer.text() }));',
    ].join('\n');
    const run = await runNodeScript(
      '--input-type=module',
      jobEnv({
        ...emu.github.env,
        DATABRICKS_HOST: emu.databricks.url,
        DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
        DATABRICKS_WORKSPACE_ID: '1618033988749894',
      }),
      { cwd: ROOT, timeoutMs: 45_000, args: ['-e', script] },
    );
    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout) as { status: number; type: string; body: string };
    expect(answer.type).toContain('application/json');
    expect(JSON.parse(answer.body)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
    expect(emu.databricks.requestsTo(`/oidc/accounts/${account}/v1/token`)).toHaveLength(1);
    const me = emu.databricks.requestsTo('/api/2.0/preview/scim/v2/Me');
    expect(me.map((r) => r.headers['x-databricks-workspace-id'])).toEqual(['1618033988749894']);
  });
});
