import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeFailure,
  githubIdTokenSource,
  type Logger,
  LoginError,
  login,
  SecretRegistry,
} from '../../packages/core/src/index.ts';
import { GitHubEmulator } from '../emulators/index.ts';
import type { RecordedRequest, Reply } from '../emulators/loopback-server.ts';
import {
  HostileServer,
  hostileReply,
  newFuzzReport,
  seededRandom,
  writeFuzzReport,
} from './hostile-server.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const CASES = Number(process.env.FUZZ_CASES ?? 1500) / 3;
const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci-pool/providers/github';

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Google STS and IAM Credentials gone bad: Google-shaped answers (nested errors that echo the
 * subject token or the bearer token, lines that look like runner commands, tokens with spaces,
 * undecodable ID tokens) mixed with the generic hostile answers.
 */
class HostileGoogle extends HostileServer {
  protected override handle(request: RecordedRequest): Reply {
    const rand = this.rand;
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(request.body) as Record<string, unknown>;
    } catch {}
    const echoed = String(json.subjectToken ?? request.headers.authorization ?? '');
    const forged = pick(rand, [
      '\n::error::forged',
      '\r\n##vso[task.setvariable variable=X]y',
      '\u2028::add-mask::x',
    ]);
    switch (Math.floor(rand() * 10)) {
      case 0:
        return {
          status: pick(rand, [400, 401, 403, 404]),
          body: {
            error: {
              code: 403,
              message: `denied for ${echoed}${forged}`,
              status: pick(rand, ['PERMISSION_DENIED', 7, null]),
              details: pick(rand, [[{ reason: 'SERVICE_DISABLED' }], 'x', [null], [{ reason: 5 }]]),
            },
          },
        };
      case 1:
        return {
          status: pick(rand, [400, 401]),
          body: { error: pick(rand, ['invalid_grant', 3]), error_description: `${echoed}${forged}` },
        };
      case 2:
      case 8:
        return { status: 200, body: { access_token: `sts-${Math.floor(rand() * 1e9)}`, expires_in: 3599 } };
      case 3:
      case 9: {
        const payload = pick(rand, [
          { exp: Math.floor(Date.now() / 1000) + 300, email: 'fuzz@example.iam.gserviceaccount.com' },
          { exp: 'soon' },
          {},
        ]);
        const jwt = `eyJhbGciOiJSUzI1NiJ9.${base64url(payload)}.c2ln`;
        const token = pick(rand, [jwt, jwt, jwt, 'not-a-jwt', 'has space', 42]);
        return {
          status: 200,
          body: {
            token,
            accessToken: pick(rand, [`ya29.${Math.floor(rand() * 1e9)}`, '', null]),
            expireTime: pick(rand, ['2099-01-01T00:00:00Z', 'never', 7]),
          },
        };
      }
      default:
        return hostileReply(rand, request, this.allowHang);
    }
  }
}

let github: GitHubEmulator;
let sts: HostileGoogle;
let iam: HostileGoogle;
let databricks: HostileServer;
beforeAll(async () => {
  github = await GitHubEmulator.create();
  [sts, iam, databricks] = await Promise.all([
    new HostileGoogle().start(),
    new HostileGoogle().start(),
    new HostileServer().start(),
  ]);
  process.env.GOOGLE_STS_URL = `${sts.url}/v1/token`;
  process.env.GOOGLE_IAM_CREDENTIALS_URL = iam.url;
});
afterAll(async () => {
  delete process.env.GOOGLE_STS_URL;
  delete process.env.GOOGLE_IAM_CREDENTIALS_URL;
  await Promise.all([github.stop(), sts.stop(), iam.stop(), databricks.stop()]);
});

describe('fuzz: provider google against hostile Google endpoints', () => {
  it(`logs in or fails with one LoginError, leaking nothing and forging no runner command, over ${CASES} cases`, async () => {
    const report = newFuzzReport();
    const problems: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const seed = SEED + i;
      sts.rand = seededRandom(seed);
      iam.rand = seededRandom(seed * 7 + 1);
      databricks.rand = seededRandom(seed * 13 + 5);
      for (const server of [sts, iam, databricks]) server.allowHang = i % 50 === 0;
      const lines: string[] = [];
      const capture: Logger = {
        info: (m) => lines.push(m),
        warn: (m) => lines.push(m),
        debug: (m) => lines.push(m),
      };
      const secrets = new SecretRegistry();
      const issuedBefore = github.issued.length;
      let output: string;
      const minted: string[] = [];
      try {
        const result = await login({
          host: databricks.url,
          provider: 'google',
          workloadIdentityProvider: PROVIDER,
          serviceAccount: 'deployer@my-project.iam.gserviceaccount.com',
          googleAccessToken: i % 2 === 0,
          verify: i % 4 < 2,
          idTokenSource: githubIdTokenSource(github.requestUrl, github.requestToken),
          secrets,
          log: capture,
          timeoutMs: 300,
          sleep: async () => {},
        });
        report.succeeded++;
        minted.push(
          result.credential.token,
          ...(result.googleAccessToken ? [result.googleAccessToken.token] : []),
        );
        if (minted.some((t) => !t || /\s/.test(t))) problems.push(`seed ${seed}: unusable token accepted`);
        output = lines.join('\n');
      } catch (error) {
        if (!(error instanceof LoginError)) {
          report.crashes++;
          problems.push(`seed ${seed}: ${String(error)}`);
        }
        output = `${lines.join('\n')}\n${secrets.redact(describeFailure(error))}`;
      }
      for (const secret of [...github.issued.slice(issuedBefore), ...minted]) {
        if (output.includes(secret)) {
          report.leaks++;
          problems.push(`seed ${seed}: a secret reached the output`);
        }
      }
      if (/^\s*(::|##vso\[)/m.test(output) || /[\r\u2028]/.test(output)) {
        report.forged++;
        problems.push(`seed ${seed}: a line could be read as a runner command`);
      }
      report.cases++;
    }
    writeFuzzReport('google-exchange', report);
    expect(problems).toEqual([]);
    expect(report.crashes + report.leaks).toBe(0);
    expect(report.succeeded).toBeGreaterThan(0);
  }, 300_000);
});
