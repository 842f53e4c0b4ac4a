import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobEnv, runCli } from '../e2e/cli-runner.ts';
import { ROOT } from '../e2e/github-runner.ts';
import { runNodeScript } from '../e2e/node-process.ts';
import { azureDevOpsOutputProblems, githubOutputProblems } from '../e2e/runner-commands.ts';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import {
  FORGED_MARKER,
  HostileServer,
  newFuzzReport,
  seededRandom,
  writeFuzzReport,
} from './hostile-server.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const CASES = Number(process.env.FUZZ_CLI_CASES ?? 30);
const STACK_TRACE = /\n\s+at .+:\d+:\d+/;
const JWT = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/;
const TOKEN_COMMAND = join(ROOT, 'dist', 'bin', 'databricks-oidc-token.cjs');
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal controls are what we look for
const TERMINAL_CONTROL = /[\u001b\u0007\u0080-\u009f]/;
/** Every line a format may print: one assignment whose value cannot leave its quoting. */
const FORMAT_LINE: Record<string, RegExp> = {
  sh: /^export [A-Z_]+='[^']*'$/,
  powershell: /^\$env:[A-Z_]+ = '[^'\u2018-\u201b]*'$/,
  dotenv: /^[A-Z_]+=[A-Za-z0-9_./:@%+,=[\]~-]*$/,
};

let hostile: HostileServer;
let gitlab: CiIssuer;
beforeAll(async () => {
  hostile = await new HostileServer().start();
  gitlab = await CiIssuer.create('gitlab');
});
afterAll(async () => {
  await hostile.stop();
});

describe('fuzz: the built CLI against hostile servers', () => {
  it(`exits 0 or 1 with one error, no stack trace, no token or JWT, no forged runner command, over ${CASES} cases`, async () => {
    const report = newFuzzReport();
    const problems: string[] = [];
    const commands = [
      ['token'],
      ['token', '--json'],
      ['env'],
      ['env', '--format', 'powershell'],
      ['env', '--format', 'dotenv'],
      ['exec', '--', process.execPath, TOKEN_COMMAND],
      ['explain', '--host', 'HOST'],
    ];
    for (let i = 0; i < CASES; i++) {
      const seed = SEED + 3000 + i;
      hostile.rand = seededRandom(seed);
      const idToken = await gitlab.mint('https://databricks.example/gitlab');
      const secret = 'client-secret-value-never-printed';
      // Half the cases take the token from the hostile metadata server instead (it echoes what it gets).
      const fromGce = i % 2 === 1;
      const env = jobEnv({
        DATABRICKS_HOST: hostile.url,
        DATABRICKS_CLIENT_ID: '6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
        DATABRICKS_CLIENT_SECRET: secret,
        ...(fromGce
          ? { GCE_METADATA_HOST: new URL(hostile.url).host }
          : { GITLAB_CI: 'true', DATABRICKS_OIDC_TOKEN: idToken }),
      });
      const command = (commands[i % commands.length] ?? ['token']).map((a) =>
        a === 'HOST' ? hostile.url : a,
      );
      const args = [
        ...command.slice(0, command.indexOf('--') >= 0 ? command.indexOf('--') : command.length),
        '--timeout-seconds',
        '1',
      ];
      if (fromGce) args.push('--token-source', 'gcp-metadata');
      if (command.includes('--')) args.push(...command.slice(command.indexOf('--')));
      const run = await runCli(args, env, 30_000);
      report.cases++;
      if (run.code === 0) report.succeeded++;
      else if (run.code !== 1) {
        report.crashes++;
        problems.push(`seed ${seed} (${args.join(' ')}): exit ${run.code}`);
      } else if (run.stdout !== '') problems.push(`seed ${seed}: wrote to stdout on failure`);
      if (STACK_TRACE.test(run.stderr)) {
        report.crashes++;
        problems.push(`seed ${seed}: stack trace`);
      }
      // stdout may carry the Databricks token the command promises, never the ID token or the secret.
      const leaked =
        [idToken, secret].some((s) => run.stderr.includes(s) || run.stdout.includes(s)) ||
        JWT.test(run.stderr);
      if (leaked) {
        report.leaks++;
        problems.push(`seed ${seed} (${args.join(' ')}): leaked a secret or a JWT`);
      }
      // Run as a GitHub or Azure DevOps script step, the runner would read both streams for commands.
      const output = `${run.stdout}\n${run.stderr}`;
      const forged = [
        ...githubOutputProblems(output, FORGED_MARKER, [], { strictMasks: false }),
        ...azureDevOpsOutputProblems(output, FORGED_MARKER, []),
      ];
      if (forged.length > 0) {
        report.forged++;
        problems.push(`seed ${seed} (${args.join(' ')}): ${forged[0]}`);
      }
      if (TERMINAL_CONTROL.test(output)) problems.push(`seed ${seed} (${args.join(' ')}): a terminal escape`);
      const format = command[0] === 'env' ? (command[2] ?? 'sh') : undefined;
      const shape = format ? FORMAT_LINE[format] : undefined;
      const broken = shape ? run.stdout.split('\n').filter((l) => l !== '' && !shape.test(l)) : [];
      if (broken.length > 0) {
        report.forged++;
        problems.push(
          `seed ${seed} (${args.join(' ')}): a line that leaves its quoting: ${JSON.stringify(broken[0])}`,
        );
      }
    }
    // databricks-oidc-token against a hostile answer on the service's port (a squatter).
    for (let i = 0; i < CASES; i++) {
      const seed = SEED + 4000 + i;
      hostile.rand = seededRandom(seed);
      const run = await runNodeScript(
        TOKEN_COMMAND,
        jobEnv({ DATABRICKS_METADATA_SERVICE_URL: `${hostile.url}/path`, DATABRICKS_HOST: hostile.url }),
        { timeoutMs: 30_000 },
      );
      report.cases++;
      if (run.code === 0) report.succeeded++;
      else if (run.code !== 1) {
        report.crashes++;
        problems.push(`token command seed ${seed}: exit ${run.code}`);
      }
      const output = `${run.stdout}\n${run.stderr}`;
      const forged = [
        ...githubOutputProblems(output, FORGED_MARKER, [], { strictMasks: false }),
        ...azureDevOpsOutputProblems(output, FORGED_MARKER, []),
      ];
      if (forged.length > 0) {
        report.forged++;
        problems.push(`token command seed ${seed}: ${forged[0]}`);
      }
      if (TERMINAL_CONTROL.test(output)) problems.push(`token command seed ${seed}: a terminal escape`);
      if (run.code === 0 && !/^[A-Za-z0-9._~+/=-]+\n$/.test(run.stdout))
        problems.push(`token command seed ${seed}: printed ${JSON.stringify(run.stdout.slice(0, 80))}`);
    }
    writeFuzzReport('cli', report);
    expect(problems).toEqual([]);
    expect(report.cases).toBe(2 * CASES);
  });
});
