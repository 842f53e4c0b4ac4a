import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEndpoints, runTask } from '../e2e/azure-devops-agent.ts';
import { runActionStep } from '../e2e/github-runner.ts';
import { azureDevOpsOutputProblems, githubOutputProblems } from '../e2e/runner-commands.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import {
  FORGED_MARKER,
  HostileServer,
  newFuzzReport,
  seededRandom,
  timeCase,
  writeFuzzReport,
} from './hostile-server.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const CASES = Number(process.env.FUZZ_ADAPTER_CASES ?? 40);
const STACK_TRACE = /\n\s+at .+:\d+:\d+/;
const CLIENT_SECRET = 'dose-fuzz-client-secret-0123456789';
const PAT = 'dapi0123456789abcdef0123456789abcdef';

/** The credential inputs of case i: none, M2M (explicit or auto's fallback), or a PAT. */
function credentialInputs(i: number, names: { authType: string; clientSecret: string }) {
  switch (i % 4) {
    case 1:
      return { [names.authType]: 'm2m', [names.clientSecret]: CLIENT_SECRET };
    case 2:
      return { [names.authType]: 'pat', pat: PAT };
    case 3:
      return { [names.clientSecret]: CLIENT_SECRET, pat: PAT }; // auto: OIDC if it can, else M2M
    default:
      return {};
  }
}
/** The secrets of the credential inputs, and the Basic credential built from the client secret. */
const credentialSecrets = (clientId: string) => [
  CLIENT_SECRET,
  PAT,
  Buffer.from(`${clientId}:${CLIENT_SECRET}`).toString('base64'),
];
/** A step with timeout-seconds 1 gives up after 3 s; the rest is node start-up and a loaded machine. */
const STEP_BOUND_MS = 15_000;

let emu: Emulators;
let hostile: HostileServer;
beforeAll(async () => {
  emu = await startEmulators();
  hostile = await new HostileServer().start();
});
afterAll(async () => {
  await Promise.all([emu.stop(), hostile.stop()]);
});

describe('fuzz: the built adapters against hostile servers', () => {
  it(`GitHub Action: one ::error:: or a clean success, no stack trace, no secret, no forged command, over ${CASES} cases`, async () => {
    const report = newFuzzReport();
    const problems: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const seed = SEED + 1000 + i;
      hostile.rand = seededRandom(seed);
      // Every fourth case, the runner's ID-token endpoint is hostile too (it echoes the request token).
      const hostileIdTokens = i % 4 === 3;
      const idEnv = hostileIdTokens
        ? {
            ACTIONS_ID_TOKEN_REQUEST_URL: `${hostile.url}/idtoken?api-version=2.0`,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token-secret-value',
          }
        : emu.github.env;
      const issuedBefore = emu.github.issued.length;
      const run = await runActionStep('main', {
        inputs: {
          mode: 'token',
          host: hostile.url,
          'client-id': emu.servicePrincipal.applicationId,
          'timeout-seconds': '1',
          ...credentialInputs(i, { authType: 'auth-type', clientSecret: 'client-secret' }),
        },
        // Every fifth case the job has no ID token (a fork): auto falls back to M2M when it can.
        env: { ...(i % 5 === 4 ? {} : idEnv), RUNNER_DEBUG: i % 2 === 0 ? '1' : '0' },
      });
      report.cases++;
      timeCase(report, `seed ${seed}`, run.durationMs, STEP_BOUND_MS, problems);
      const ok = run.code === 0 && run.errors.length === 0;
      if (ok) report.succeeded++;
      else if (run.code === 0 || run.errors.length !== 1) {
        report.crashes++;
        problems.push(`seed ${seed}: exit ${run.code} with ${run.errors.length} errors`);
      }
      if (!ok && Object.keys(run.exportedEnv).length > 0) problems.push(`seed ${seed}: exported on failure`);
      if (
        STACK_TRACE.test(run.stderr) ||
        STACK_TRACE.test(run.visibleOutput.replace(/^::debug::.*$/gm, ''))
      ) {
        report.crashes++;
        problems.push(`seed ${seed}: stack trace outside debug`);
      }
      const secrets = [
        ...emu.github.issued.slice(issuedBefore),
        idEnv.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
        run.outputs.token,
        ...credentialSecrets(emu.servicePrincipal.applicationId),
      ].filter((s): s is string => Boolean(s));
      for (const secret of secrets) {
        if (
          run.visibleOutput.includes(secret) ||
          run.stderr.includes(secret) ||
          run.summary.includes(secret)
        ) {
          report.leaks++;
          problems.push(`seed ${seed}: leaked a secret`);
        }
      }
      const forged = githubOutputProblems(`${run.stdout}\n${run.stderr}`, FORGED_MARKER, secrets, {
        strictMasks: false, // hostile servers hand out tokens the test cannot list; the step masks them
      });
      if (forged.length > 0) {
        report.forged++;
        problems.push(`seed ${seed}: ${forged[0]}`);
      }
    }
    writeFuzzReport('github-action', report);
    expect(problems).toEqual([]);
  }, 300_000);

  it(`Azure DevOps task: one task.complete, no stack trace, no secret, no forged command, over ${CASES} cases`, async () => {
    const report = newFuzzReport();
    const problems: string[] = [];
    const jobToken = 'job-access-token-secret-value';
    for (let i = 0; i < CASES; i++) {
      const seed = SEED + 2000 + i;
      hostile.rand = seededRandom(seed);
      // Odd cases: the Azure DevOps OIDC endpoint itself is hostile (it may echo the job token).
      const hostileOidc = i % 2 === 1;
      const run = await runTask('main', emu, {
        inputs: {
          mode: 'token',
          host: hostile.url,
          clientId: emu.servicePrincipal.applicationId,
          timeoutSeconds: '1',
          ...credentialInputs(i, { authType: 'authType', clientSecret: 'clientSecret' }),
        },
        env: {
          // Every fifth case there is no job token: auto falls back to M2M when it can.
          ...(i % 5 === 4
            ? {}
            : agentEndpoints(emu, {
                includeConnection: false,
                jobToken: hostileOidc ? jobToken : undefined,
              })),
          ...(hostileOidc ? { SYSTEM_COLLECTIONURI: `${hostile.url}/org/` } : {}),
          SYSTEM_DEBUG: i % 3 === 0 ? 'true' : 'false',
        },
      });
      report.cases++;
      timeCase(report, `seed ${seed}`, run.durationMs, STEP_BOUND_MS, problems);
      const completes = run.commands.filter((c) => c.name === 'task.complete');
      if (completes.length !== 1) {
        report.crashes++;
        problems.push(`seed ${seed}: ${completes.length} task.complete commands`);
      }
      if (run.blocked.length > 0)
        problems.push(`seed ${seed}: the agent would refuse ${run.blocked.join('; ')}`);
      if (run.result?.status === 'Succeeded') report.succeeded++;
      else if (Object.keys(run.variables).length > 0) problems.push(`seed ${seed}: variables set on failure`);
      const plain = run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('##vso[task.debug]'))
        .join('\n');
      if (STACK_TRACE.test(plain) || STACK_TRACE.test(run.stderr)) {
        report.crashes++;
        problems.push(`seed ${seed}: stack trace outside debug`);
      }
      const secrets = [
        jobToken,
        emu.azureDevOps.jobAccessToken,
        ...emu.azureDevOps.issued,
        run.variables.DATABRICKS_TOKEN?.value,
        ...credentialSecrets(emu.servicePrincipal.applicationId),
      ].filter((s): s is string => Boolean(s));
      const lines = run.stdout.split('\n');
      for (const secret of secrets) {
        // Only the commands the agent consumes may carry a secret, and only after task.setsecret.
        const masked = lines.indexOf(`##vso[task.setsecret]${secret}`);
        const exposed = lines.some(
          (l, n) =>
            l.includes(secret) &&
            n !== masked &&
            !(masked >= 0 && n > masked && /^##vso\[task\.(setvariable|setsecret|debug)/.test(l)),
        );
        if (exposed || run.stderr.includes(secret)) {
          report.leaks++;
          problems.push(`seed ${seed}: leaked a secret`);
        }
      }
      const forged = azureDevOpsOutputProblems(`${run.stdout}\n${run.stderr}`, FORGED_MARKER, []);
      if (forged.length > 0) {
        report.forged++;
        problems.push(`seed ${seed}: ${forged[0]}`);
      }
    }
    writeFuzzReport('azure-devops-task', report);
    expect(problems).toEqual([]);
  }, 300_000);
});
