import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
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
            clientId: '6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
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
        for (const secret of [...idTokens, ...(minted ? [minted] : [])]) {
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
});
