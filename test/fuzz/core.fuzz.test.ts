import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chooseAuthMethod,
  describeFailure,
  githubIdTokenSource,
  hasControlCharacters,
  type Logger,
  LoginError,
  login,
  neutraliseRunnerCommands,
  planLogin,
  SecretRegistry,
} from '../../packages/core/src/index.ts';
import { azureDevOpsOutputProblems, githubOutputProblems } from '../e2e/runner-commands.ts';
import { GitHubEmulator } from '../emulators/index.ts';
import {
  FORGED_MARKER,
  HostileServer,
  newFuzzReport,
  seededRandom,
  timeCase,
  writeFuzzReport,
} from './hostile-server.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const CASES = Number(process.env.FUZZ_CASES ?? 1500);
const CLIENT_ID = '6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f';
const CLIENT_SECRET = 'dose-fuzz-client-secret-0123456789';
const PAT = 'dapi0123456789abcdef0123456789abcdef';
/** Case i logs in with OIDC, OAuth M2M or a PAT: every method meets the hostile server. */
const AUTH_CASES = [
  {},
  { authType: 'm2m', clientSecret: CLIENT_SECRET },
  { authType: 'pat', pat: PAT },
] as const;

let github: GitHubEmulator;
let hostile: HostileServer;
beforeAll(async () => {
  github = await GitHubEmulator.create();
  hostile = await new HostileServer().start();
});
afterAll(async () => {
  await Promise.all([github.stop(), hostile.stop()]);
});

describe('fuzz: the core against hostile servers', () => {
  it(`logs in or fails with one LoginError, leaking and forging nothing, in bounded time, over ${CASES} hostile exchanges`, async () => {
    let unhandled = 0;
    const onUnhandled = () => {
      unhandled++;
    };
    process.on('unhandledRejection', onUnhandled);
    const report = newFuzzReport();
    const problems: string[] = [];
    // Three request timeouts bound a login; the rest is margin for a loaded machine.
    const boundMs = 3 * 300 + 4_000;
    try {
      for (let i = 0; i < CASES; i++) {
        const started = performance.now();
        const seed = SEED + i;
        hostile.rand = seededRandom(seed);
        hostile.allowHang = i % 50 === 0;
        const lines: string[] = [];
        const capture: Logger = {
          info: (m) => lines.push(m),
          warn: (m) => lines.push(m),
          debug: (m) => lines.push(m),
        };
        const secrets = new SecretRegistry();
        const issuedBefore = github.issued.length;
        let output: string;
        let minted: string | undefined;
        try {
          const result = await login({
            host: hostile.url,
            clientId: CLIENT_ID,
            ...AUTH_CASES[i % AUTH_CASES.length],
            idTokenSource: githubIdTokenSource(github.requestUrl, github.requestToken),
            secrets,
            log: capture,
            timeoutMs: 300,
            sleep: async () => {},
          });
          report.succeeded++;
          minted = result.credential.token;
          if (!minted || /\s/.test(minted)) problems.push(`seed ${seed}: unusable token accepted`);
          output = lines.join('\n');
        } catch (error) {
          if (!(error instanceof LoginError)) {
            report.crashes++;
            problems.push(`seed ${seed}: ${String(error)}`);
          }
          // What an adapter prints: the redacted failure, plus the transcript.
          output = `${lines.join('\n')}\n${secrets.redact(describeFailure(error))}`;
          if (describeFailure(error).split('\n')[0]?.startsWith('Failed to') !== true)
            problems.push(`seed ${seed}: no "Failed to" line`);
        }
        timeCase(report, `seed ${seed}`, performance.now() - started, boundMs, problems);
        const idTokens = github.issued.slice(issuedBefore);
        const stored = [CLIENT_SECRET, PAT, Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')];
        for (const secret of [...idTokens, ...(minted ? [minted] : []), ...stored]) {
          if (output.includes(secret)) {
            report.leaks++;
            problems.push(`seed ${seed}: a secret reached the output`);
          }
        }
        // What the adapters print goes through the one escaping function: nothing may be forged.
        const printed = neutraliseRunnerCommands(output);
        const forged = [
          ...githubOutputProblems(printed, FORGED_MARKER, []),
          ...azureDevOpsOutputProblems(printed, FORGED_MARKER, []),
        ];
        if (forged.length > 0) {
          report.forged++;
          problems.push(`seed ${seed}: ${forged[0]}`);
        }
        report.cases++;
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    writeFuzzReport('core-exchange', report);
    expect(problems).toEqual([]);
    expect(unhandled).toBe(0);
    expect(report.crashes + report.leaks + report.forged + report.stalls).toBe(0);
    expect(report.succeeded).toBeGreaterThan(0); // the generator also produces valid answers
  }, 300_000);

  it('validates hostile inputs: a plan or one LoginError, never anything else', () => {
    const rand = seededRandom(SEED);
    const fragments = [
      'https://',
      'http://',
      'adb-1.2.azuredatabricks.net',
      '127.0.0.1:8080',
      'user:pw@',
      '\n',
      '\r\n::set-env',
      '\u0000',
      '\u2028',
      '?o=1',
      '/path/',
      '#frag',
      '[::1]',
      'localhost',
      '%0A',
      ' ',
      'é',
      '😀',
      'javascript:',
      'file:///etc/passwd',
      'a'.repeat(3000),
      'eyJ'.repeat(40_000),
      'x.'.repeat(60_000),
      '..',
      '6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
      '1234567',
      '$(DATABRICKS_HOST)',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression left unexpanded, on purpose
      '${{ secrets.X }}',
    ];
    const random = () =>
      Array.from(
        { length: Math.floor(rand() * 5) },
        () => fragments[Math.floor(rand() * fragments.length)],
      ).join('');
    const report = newFuzzReport();
    const problems: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const started = performance.now();
      const options = {
        host: random(),
        clientId: rand() < 0.5 ? random() : undefined,
        accountId: rand() < 0.3 ? random() : undefined,
        audience: rand() < 0.3 ? random() : undefined,
        provider: rand() < 0.8 ? (rand() < 0.5 ? 'databricks' : 'azure') : random(),
        tenantId: rand() < 0.5 ? random() : undefined,
        authorityHost: rand() < 0.3 ? random() : undefined,
      };
      report.cases++;
      try {
        const plan = planLogin(options);
        // Whatever got through is a clean origin, and plain http only to loopback.
        expect(plan.host).toMatch(/^https?:\/\/[^/\s@]+$/);
        if (plan.host.startsWith('http:'))
          expect(plan.host).toMatch(/^http:\/\/(localhost|127\.[\d.]+|\[::1\])(:\d+)?$/);
        expect(hasControlCharacters(plan.tokenEndpoint) || /\s/.test(plan.tokenEndpoint)).toBe(false);
      } catch (error) {
        if (!(error instanceof LoginError)) report.crashes++;
        // An error message quotes at most a short excerpt of any input.
        else if (error.message.length > 600)
          problems.push(`case ${i}: a ${error.message.length}-character message`);
      }
      timeCase(report, `input case ${i}`, performance.now() - started, 1_000, problems);
    }
    writeFuzzReport('core-inputs', report);
    expect(problems).toEqual([]);
    expect(report.crashes).toBe(0);
  });

  it('chooses an auth method or fails with one LoginError, never echoing a secret input', () => {
    const rand = seededRandom(SEED + 7);
    const fragments = [
      'auto',
      'oidc',
      'm2m',
      'pat',
      'PAT',
      ' ',
      '\n',
      '\u0000',
      '::error::x',
      '##vso[',
      'é',
      '',
    ];
    const piece = () => fragments[Math.floor(rand() * fragments.length)] ?? '';
    const noSource = () => {
      throw new LoginError('ID_TOKEN_UNAVAILABLE', 'Failed to get an ID token: none here', {
        hint: 'enable it',
      });
    };
    const source = { description: 'fuzz', getIdToken: async () => 'x' };
    let cases = 0;
    let crashes = 0;
    let leaks = 0;
    for (let i = 0; i < 3000; i++) {
      // Secrets carry a marker that no message of ours contains.
      const secret = () => (rand() < 0.4 ? undefined : `${piece()}S3CR3T${piece()}${piece()}`);
      const request = {
        authType: rand() < 0.7 ? piece() : `${piece()}${piece()}`,
        idTokenSource: rand() < 0.5 ? source : noSource,
        clientId: rand() < 0.5 ? CLIENT_ID : undefined,
        clientSecret: secret(),
        pat: secret(),
      };
      const lines: string[] = [];
      const log: Logger = {
        info: (m) => lines.push(m),
        warn: (m) => lines.push(m),
        debug: (m) => lines.push(m),
      };
      cases++;
      try {
        const choice = chooseAuthMethod(request, log);
        if (choice.method === 'm2m' && !/^[^\s]*S3CR3T[^\s]*$/.test(choice.clientSecret)) crashes++;
      } catch (error) {
        if (!(error instanceof LoginError)) crashes++;
        lines.push(describeFailure(error));
      }
      if (lines.some((l) => l.includes('S3CR3T'))) leaks++;
    }
    writeFuzzReport('core-auth-type', { ...newFuzzReport(), cases, crashes, leaks });
    expect({ crashes, leaks }).toEqual({ crashes: 0, leaks: 0 });
  });
});
