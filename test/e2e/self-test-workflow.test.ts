import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isProcessAlive, stopMetadataService } from '../../packages/core/src/index.ts';
import { parseFileCommands, ROOT, runActionStep, runLaterShellStep } from './github-runner.ts';
import { runNodeScript } from './node-process.ts';

// self-test.yml cannot run here; this walks through its steps on this machine instead: start the
// emulators as the workflow does, run the built action with the step's `with:` (expressions
// resolved as the runner would), let the real SDK verify as a later step, then stop everything.

interface Step {
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/self-test.yml'), 'utf8')) as {
  jobs: Record<string, { strategy: { matrix: { mode: string[] } }; steps: Step[] }>;
};
const job = Object.values(workflow.jobs)[0];
const selfTest = (command: string) => ['node', 'build/self-test.mjs', command].join(' ');

/** `${{ env.X }}` and `${{ matrix.Y }}`, as the runner expands them. */
function expand(value: string, env: Record<string, string>, matrix: Record<string, string>): string {
  return value.replace(/\$\{\{\s*(env|matrix)\.([\w-]+)\s*\}\}/g, (_, scope: string, name: string) =>
    String((scope === 'env' ? env : matrix)[name] ?? ''),
  );
}

describe('self-test.yml, walked through locally', () => {
  for (const mode of job?.strategy.matrix.mode ?? []) {
    it(`starts the emulators, logs in with uses: ./ in mode ${mode}, verifies with the SDK, and stops`, async () => {
      const runnerTemp = mkdtempSync(join(tmpdir(), 'self-test-'));
      const githubEnv = join(runnerTemp, 'github-env');
      writeFileSync(githubEnv, '');
      const base = { PATH: process.env.PATH ?? '', RUNNER_TEMP: runnerTemp, HOME: runnerTemp };
      let jobEnv: Record<string, string> = {};
      let servicePid = 0;
      try {
        const commands = job?.steps.map((s) => s.run) ?? [];
        expect(commands).toEqual(
          expect.arrayContaining([selfTest('start'), selfTest('verify'), selfTest('stop')]),
        );

        const startStep = job?.steps.find((s) => s.run === selfTest('start'));
        const startEnv = Object.fromEntries(
          Object.entries(startStep?.env ?? {}).map(([k, v]) => [k, expand(String(v), {}, { mode })]),
        );
        expect(startEnv).toEqual({ SELFTEST_MODE: mode });
        const start = await runNodeScript(
          join(ROOT, 'build/self-test.mjs'),
          // Shorter tokens than the workflow's 20 s, to keep this test quick.
          { ...base, ...startEnv, SELFTEST_TOKEN_LIFETIME_SECONDS: '6', GITHUB_ENV: githubEnv },
          {
            args: ['start'],
            cwd: ROOT,
          },
        );
        expect(start.code, start.stderr).toBe(0);
        jobEnv = parseFileCommands(readFileSync(githubEnv, 'utf8'));
        expect(Object.keys(jobEnv).sort()).toEqual([
          'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
          'ACTIONS_ID_TOKEN_REQUEST_URL',
          'SELFTEST_CLIENT_ID',
          'SELFTEST_HOST',
          'SELFTEST_PID',
        ]);

        const login = job?.steps.find((s) => s.uses === './');
        const inputs = Object.fromEntries(
          Object.entries(login?.with ?? {}).map(([k, v]) => [k, expand(String(v), jobEnv, { mode })]),
        );
        const main = await runActionStep('main', { inputs, env: jobEnv, runnerTemp });
        servicePid = Number(main.state['metadata-service-pid']);
        expect(main.errors).toEqual([]);
        expect(main.outputs.host).toBe(jobEnv.SELFTEST_HOST);
        expect(main.outputs.principal).toBe(jobEnv.SELFTEST_CLIENT_ID);

        const verify = await runNodeScript(
          join(ROOT, 'build/self-test.mjs'),
          { ...base, ...jobEnv, ...main.exportedEnv },
          { args: ['verify'], cwd: ROOT },
        );
        expect(verify.code, verify.stderr).toBe(0);
        expect(verify.stdout).toContain(`as ${jobEnv.SELFTEST_CLIENT_ID}`);

        if (mode === 'refresh') {
          // The bash step, with PATH as the runner sets it; pwsh and cmd need a machine that has them.
          const bash = job?.steps.find((s) => s.shell === 'bash' && s.run?.includes('databricks-oidc-token'));
          const later = await runLaterShellStep(
            { exportedEnv: { ...jobEnv, ...main.exportedEnv }, addedPaths: main.addedPaths },
            bash?.run ?? 'exit 1',
            'bash',
          );
          expect(later.code, later.stderr).toBe(0);
          const across = await runNodeScript(
            join(ROOT, 'build/self-test.mjs'),
            { ...base, ...jobEnv, ...main.exportedEnv },
            { args: ['verify-across-expiry'], cwd: ROOT, timeoutMs: 60_000 },
          );
          expect(across.code, across.stderr).toBe(0);
          expect(across.stdout).toContain('The first token (DATABRICKS_TOKEN) has expired');
          expect(across.stdout).toContain(`as ${jobEnv.SELFTEST_CLIENT_ID}`);
          const checkPost = await runNodeScript(
            join(ROOT, 'build/self-test.mjs'),
            { ...base, ...jobEnv, ...main.exportedEnv },
            { args: ['check-post'], cwd: ROOT },
          );
          expect(checkPost.code, checkPost.stderr).toBe(0);
          expect(checkPost.stdout).toContain(`Stopped the local metadata service (pid ${servicePid}).`);
          expect(isProcessAlive(servicePid)).toBe(false);
        }

        // The runner's own post step, at the end of the job.
        const post = await runActionStep('post', { state: main.state, runnerTemp });
        expect(post.code).toBe(0);
        if (mode === 'refresh') expect(post.stdout).toContain('had already stopped');
      } finally {
        if (servicePid) await stopMetadataService(servicePid);
        const stop = await runNodeScript(
          join(ROOT, 'build/self-test.mjs'),
          { ...base, ...jobEnv },
          {
            args: ['stop'],
            cwd: ROOT,
          },
        );
        rmSync(runnerTemp, { recursive: true, force: true });
        expect(stop.code).toBe(0);
      }
      const emulatorPid = Number(jobEnv.SELFTEST_PID);
      for (let i = 0; i < 50 && isProcessAlive(emulatorPid); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(isProcessAlive(emulatorPid)).toBe(false);
    }, 120_000);
  }
});
